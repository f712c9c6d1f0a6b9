-- tests/lua/inspect.lua: looking inside (lua/inspect.lua over ember.render).
--
-- Proves: the unused-unit report on a hand-built model whose outputs are
-- known (zero weights, chosen biases); m:probs marks the true and
-- predicted units and the units no class names; the confusion table and
-- m:misclassified agree; fit { unused = } records epoch 0 and every epoch;
-- watching records outputs; plot draws a history; CSV and JSON exports
-- hold the history; PNG and SVG files are written. Plain text (NO_COLOR
-- is not needed: output here is not a terminal).

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

-- Raw IDX: n images of 2x2, labels cycling 0, 1; image k is bright where
-- its label says, so a model can learn it.
local function write_idx(n)
  local img = { string.pack(">I4I4I4I4", 0x803, n, 2, 2) }
  local lab = { string.pack(">I4I4", 0x801, n) }
  for k = 0, n - 1 do
    local label = k % 2
    img[#img + 1] = label == 0 and string.char(250, 240, 5, 10) or string.char(5, 10, 250, 240)
    lab[#lab + 1] = string.char(label)
  end
  local fi = assert(io.open(dir .. "/img", "wb")); fi:write(table.concat(img)); fi:close()
  local fl = assert(io.open(dir .. "/lab", "wb")); fl:write(table.concat(lab)); fl:close()
  return data.idx(dir .. "/img", dir .. "/lab")
end
local ds = write_idx(40)
assert(ds.classes == 2)

-- Captures what the inspect functions write.
local function captured(f, ...)
  local parts = {}
  local saved = ember.out
  ember.out = function(s) parts[#parts + 1] = s end
  local ok, err = pcall(f, ...)
  ember.out = saved
  assert(ok, err)
  return table.concat(parts)
end
local function contains(text, part, what)
  assert(text:find(part, 1, true), what .. ": expected " .. string.format("%q", part) .. " in:\n" .. text)
end
local function near(a, b, what)
  assert(math.abs(a - b) < 1e-6, what .. ": " .. tostring(a) .. " vs " .. tostring(b))
end

-- A model whose outputs are its biases: zero kernel, linear output.
local function fixed(biases)
  local m = nn.sequential { nn.flatten(), nn.dense(#biases) }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  m:build { 2, 2 }
  local w = m.layers[2].weights
  for i = 1, w.shape[1] do for j = 1, w.shape[2] do w:set(i, j, 0) end end
  for j, b in ipairs(biases) do m.layers[2].bias[j] = b end
  return m
end

-- ---- the unused-unit report: known outputs -------------------------------------
do
  local m = fixed { 0.5, 0.2, 0.1, 0.2 }   -- units 2, 3 name no class
  local r = m:unused(ds)
  assert(r.units == 4 and r.classes == 2 and r.samples == 40, "report sizes")
  assert(r.argmax_count == 0 and r.argmax_share == 0, "no prediction of an unused unit")
  near(r.mass, 0.3, "mean share on unused units: (0.1 + 0.2) / 1.0")
  near(r.max_mass, 0.3, "largest share on unused units")
  near(r.largest, 0.2, "largest unused output")
  assert(r.largest_unit == 3, "the largest unused output is unit 3 (got " .. r.largest_unit .. ")")
  contains(tostring(r), "unused units 2..3 of 4", "report text")
  contains(tostring(r), "predictions of a class that does not exist: 0 (0.00%)", "report text")

  local u = fixed { 0.1, 0.2, 0.3, 0.9 }   -- every argmax is unit 3
  local r2 = u:unused(ds)
  assert(r2.argmax_count == 40 and r2.argmax_share == 1, "every prediction names unit 3")
  near(r2.mass, 1.2 / 1.5, "share on unused units")
  contains(tostring(r2), "40 (100.00%)", "report text")

  local same = fixed { 0.5, 0.5 }
  contains(tostring(same:unused(ds)), "none (2 units for 2 classes)", "no unused units")

  -- m:probs: true and predicted marked, unused units named, shares shown.
  local text = captured(u.probs, u, ds, 1, { collapse = false, width = 80 })
  contains(text, "true 0, predicted 3 (no such class)", "probs header")
  contains(text, "<- predicted", "probs marks the predicted unit")
  contains(text, "<- true", "probs marks the true unit")
  contains(text, "(no such class)", "probs names unused units")
  contains(text, "share", "probs shows the renormalised share for non-softmax outputs")
  local collapsed = captured(u.probs, u, ds, 1, { width = 80 })
  contains(collapsed, "units 2..3", "unused units collapsed by default")
  local ok, err = pcall(u.probs, u, ds, "x")
  assert(not ok and err:find("give a sample number", 1, true), "probs with a bad sample: " .. tostring(err))
end

-- ---- confusion, misclassified -------------------------------------------------------
do
  local m = fixed { 0.9, 0.1 }   -- always predicts 0: every label 1 is taken for 0
  local text = captured(m.confusion, m, ds)
  contains(text, "overall accuracy: 50.00% (20 of 40)", "confusion accuracy")
  contains(text, "1 -> 0: 20", "most confused pair")
  local wrong = m:misclassified(ds, 1, 0)
  assert(#wrong == 20 and wrong[1] == 2 and wrong[20] == 40, "misclassified: samples 2, 4, ..., 40")
  assert(#m:misclassified(ds, 0, 1) == 0, "nothing of class 0 taken for 1")
end

-- ---- recording while training ------------------------------------------------------
do
  seed(5)
  local m = nn.sequential { nn.flatten(), nn.dense(6, "relu"), nn.dense(4, "sigmoid") }
  m:compile { optimizer = nn.adam { lr = 0.05 }, loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  m:watch(ds, 1, 2, { quiet = true })
  m:fit(ds, { epochs = 3, verbose = 0, batch_size = 8, unused = ds })
  local h = m.history
  assert(h.unused_epoch and #h.unused_epoch == 4 and h.unused_epoch[1] == 0 and h.unused_epoch[4] == 3,
         "unused recorded at epochs 0..3")
  assert(#h.unused_mass == 4 and #h.unused_largest == 4 and #h.unused_argmax_share == 4, "one row per epoch")
  assert(h.unused_mass[4] < h.unused_mass[1],
         "the share on unused units falls with training: " .. h.unused_mass[1] .. " -> " .. h.unused_mass[4])
  -- A checkpoint keeps the report's lists.
  m:save(dir .. "/m.ckpt")
  local back = nn.load(dir .. "/m.ckpt")
  assert(#back.history.unused_mass == 4 and back.history.unused_mass[4] == h.unused_mass[4], "saved with the model")
  local rec = m:watch()
  assert(#rec == 6 and rec[1].sample == 1 and rec[2].sample == 2 and rec[6].epoch == 3, "two samples watched for 3 epochs")
  assert(#rec[1].outputs == 4, "watched outputs are the 4 units")
  m:unwatch()
  m:epoch { verbose = 0 }
  assert(#m:watch() == 6, "nothing recorded after unwatch")

  -- plot: a history in the terminal, and as SVG files.
  local text = captured(plot, m.history, { width = 60, height = 8 })
  contains(text, "* loss", "plot legend")
  contains(text, "epoch", "plot x axis")
  contains(captured(plot, m, { batches = true, width = 60, height = 8 }), "batch loss", "per-batch plot")
  contains(captured(plot, {}), "nothing to plot", "empty plot")
  captured(plot, m.history, { svg = dir .. "/curves.svg", width = 60, height = 8 })
  assert(io.open(dir .. "/curves-1.svg") and io.open(dir .. "/curves-2.svg"), "one SVG per chart")

  -- CSV and JSON of the history.
  m.history:csv(dir .. "/h.csv")
  local csv = io.open(dir .. "/h.csv"):read("a")
  contains(csv, "epoch,loss,accuracy\n1,", "CSV header and first row")
  local rows = select(2, csv:gsub("\n", ""))
  assert(rows == 5, "CSV: a header and 4 epochs (got " .. rows .. " lines)")
  m.history:json(dir .. "/h.json")
  local json = io.open(dir .. "/h.json"):read("a")
  contains(json, '"epoch":[1,2,3,4]', "JSON epochs")
  contains(json, '"unused_mass":[', "JSON holds the unused report")
  m:unused(ds):json(dir .. "/r.json")
  contains(io.open(dir .. "/r.json"):read("a"), '"units":4', "report JSON")

  -- Images: a sample and the first layer's weights as PNG; bars as SVG.
  ds:png(1, dir .. "/s.png")
  local png = io.open(dir .. "/s.png", "rb"):read("a")
  assert(png:sub(1, 8) == "\137PNG\r\n\26\n", "a PNG signature")
  assert(string.unpack(">I4", png, 17) == 2 and string.unpack(">I4", png, 21) == 2, "a 2x2 image")
  m:png_weights(dir .. "/w.png")
  assert(io.open(dir .. "/w.png", "rb"):read(8) == "\137PNG\r\n\26\n", "weights PNG")
  captured(m.probs, m, ds, 1, { svg = dir .. "/p.svg" })
  contains(io.open(dir .. "/p.svg"):read("a"), "<svg", "bars SVG")

  -- compare: a column per model.
  local other = fixed { 0.9, 0.1, 0.05, 0.01 }
  local table_text = captured(compare, { m, other }, ds)
  contains(table_text, "1: 4 sigmoid", "compare header names the first model")
  contains(table_text, "2: 4 linear", "compare header names the second model")
  contains(table_text, "argmax >= classes", "compare rows")
  local ok, err = pcall(compare, {}, ds)
  assert(not ok and err:find("give a list of models", 1, true), "compare without models")
end

os.execute("rm -rf '" .. dir .. "'")
print("inspect.lua: all passed")
