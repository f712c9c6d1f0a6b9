-- tests/lua/training.lua: the training cursor, callbacks, history and the
-- progress output of m:fit, m:epoch and m:step.
--
-- Run as `build/ember tests/lua/training.lua`; exit 0 passes. The script
-- writes its own small IDX files (300 samples of 6x6 from three separable
-- classes: 10 batches of 32 per epoch, the last of 12), so it needs no real
-- dataset. The output checks run ember itself as a child process (arg[-1]).

local fixture = dofile((arg[0]:match("^(.*)/") or ".") .. "/fixture.lua")

-- ---- helpers -------------------------------------------------------------
local raises = fixture.raises

local contains = fixture.contains

local same_list = fixture.same_list

local flat = fixture.flat

-- Every parameter of a model, in order, as one Lua list.
local all_weights = fixture.all_weights

-- Bit-identical parameters: every weight compared with ==.
local function same_weights(a, b, what)
  local wa, wb = all_weights(a), all_weights(b)
  assert(#wa > 0 and #wa == #wb, what .. ": parameter counts " .. #wa .. " and " .. #wb)
  for i = 1, #wa do
    assert(wa[i] == wb[i], what .. ": parameter " .. i .. " differs (" .. wa[i] .. " vs " .. wb[i] .. ")")
  end
end

local function cursor_is(m, epoch, batch, seen, what)
  local c = m.cursor
  assert(c.epoch == epoch and c.batch == batch and c.seen == seen,
         string.format("%s: cursor epoch %d batch %d seen %d, expected %d %d %d", what, c.epoch, c.batch,
                       c.seen, epoch, batch, seen))
end

local function same_cursor(a, b, what)
  local ca, cb = a.cursor, b.cursor
  for _, k in ipairs { "epoch", "batch", "seen", "batches" } do
    assert(ca[k] == cb[k], what .. ": cursor." .. k .. " " .. ca[k] .. " vs " .. cb[k])
  end
end

-- ---- fixture: 300 samples of 6x6, three classes ---------------------------
-- Class k (0, 1, 2) is bright (200..230) in rows 2k+1 and 2k+2 and dark
-- (0..30) elsewhere, with noise from a fixed LCG; labels cycle 0, 1, 2.
local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end


local function make_files(count, classes)
  local base = os.tmpname()
  local images_path = base .. "-images-idx3-ubyte"
  local labels_path = base .. "-labels-idx1-ubyte"
  local images, labels = fixture.idx_bytes(count, classes)
  write(images_path, images)
  write(labels_path, labels)
  return images_path, labels_path, base
end

local function remove_files(...)
  for _, path in ipairs { ... } do os.remove(path) end
end

local ds
do
  local images, labels, base = make_files(300, 3)
  ds = data.idx(images, labels)
  remove_files(images, labels, base)
end
assert(#ds == 300, "fixture: " .. #ds .. " samples")
local val = ds:subset(1, 60)

local SPARSE = "sparse_categorical_crossentropy"

local function new_model(seed, opts)
  opts = opts or {}
  nn.seed(seed)
  local m = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(3, opts.last or "softmax") }
  local metrics = { "accuracy" }
  if opts.metrics == false then metrics = nil end
  m:compile { optimizer = opts.optimizer or "adam", loss = SPARSE, metrics = metrics }
  return m
end

local Q = { verbose = 0 }

-- ---- the reference: fit for 3 epochs ---------------------------------------------
local ref = new_model(21)
local ref_h = ref:fit(ds, { epochs = 3, verbose = 0 })
cursor_is(ref, 3, 0, 900, "after fit{epochs = 3}")
assert(ref.cursor.batches == 10, "batches per epoch: " .. tostring(ref.cursor.batches))
same_list(ref.history.epoch, { 1, 2, 3 }, "reference history epochs")
assert(#ref.history.loss == 3 and #ref.history.accuracy == 3, "reference history has 3 losses and accuracies")
same_list(ref_h.loss, ref.history.loss, "fit's history = the model's after one fit")

-- ---- mixing step, epoch and fit gives the same run, bit for bit ------------------------
do
  local m = new_model(21)
  local logs = m:step(3, ds, Q)
  cursor_is(m, 0, 3, 96, "step(3)")
  assert(logs.samples == 96 and logs.batches == 3 and logs.epoch == 1, "step(3) logs")
  assert(m.history.loss == nil, "a partial epoch adds nothing to the history")
  logs = m:epoch(Q)                     -- the rest of epoch 1: 7 batches, 204 samples
  cursor_is(m, 1, 0, 300, "step(3), epoch()")
  assert(logs.samples == 204 and logs.batches == 7, "epoch() after step(3) covers the rest: "
         .. logs.samples .. " samples, " .. logs.batches .. " batches")
  logs = m:step(2)                      -- the bound data, two batches of epoch 2
  cursor_is(m, 1, 2, 364, "step(2)")
  assert(logs.epoch == 2, "step(2) is in epoch 2: " .. tostring(logs.epoch))
  m:epoch(Q)
  cursor_is(m, 2, 0, 600, "epoch() after step(2)")
  local h = m:fit(ds, { epochs = 1, verbose = 0 })
  cursor_is(m, 3, 0, 900, "the mixed run")
  same_weights(m, ref, "step(3), epoch, step(2), epoch, fit{epochs = 1} vs fit{epochs = 3}")
  same_cursor(m, ref, "mixed run")
  same_list(m.history.epoch, { 1, 2, 3 }, "mixed run history epochs")
  same_list(m.history.loss, ref.history.loss, "mixed run history losses")
  same_list(m.history.accuracy, ref.history.accuracy, "mixed run history accuracies")
  same_list(h.epoch, { 3 }, "fit returns only its own epoch")
  same_list(h.loss, { ref.history.loss[3] }, "fit's own loss")
end

-- fit{epochs = k} runs k calls of epoch(): the first finishes a partly done one.
do
  local m = new_model(21)
  m:step(4, ds, Q)
  local h = m:fit(ds, { epochs = 3, verbose = 0 })
  cursor_is(m, 3, 0, 900, "step(4), fit{epochs = 3}")
  same_weights(m, ref, "step(4), fit{epochs = 3} vs fit{epochs = 3}")
  same_list(h.epoch, { 1, 2, 3 }, "fit after step(4) reports epochs 1..3")
  same_list(h.loss, ref.history.loss, "fit after step(4): losses")

  -- step crosses epoch boundaries; step(n) = n batches.
  local s = new_model(21)
  local logs = s:step(12, ds, Q)
  cursor_is(s, 1, 2, 364, "step(12)")
  assert(logs.samples == 364 and logs.batches == 12, "step(12) logs: " .. logs.samples .. ", " .. logs.batches)
  same_list(s.history.epoch, { 1 }, "step across an epoch end records it")
  same_list(s.history.loss, { ref.history.loss[1] }, "the epoch's loss recorded by step")
  s:step(18)
  cursor_is(s, 3, 0, 900, "step(12), step(18)")
  same_weights(s, ref, "30 steps vs fit{epochs = 3}")

  -- epochs = 0 trains nothing; epoch() at a boundary runs a whole epoch.
  local z = new_model(21)
  local hz = z:fit(ds, { epochs = 0, verbose = 0 })
  cursor_is(z, 0, 0, 0, "fit{epochs = 0}")
  assert(hz.epoch == nil, "fit{epochs = 0} returns an empty history")
  local l1 = z:epoch(ds, Q)
  assert(l1.samples == 300 and l1.batches == 10 and l1.epoch == 1, "a whole epoch's logs")
  assert(l1.loss == ref.history.loss[1], "epoch() logs the epoch's loss: " .. l1.loss)
end

-- ---- batches: size, the last partial one, shuffling ----------------------------------
do
  -- Watch every batch: the flatten layer's output is the batch's input.
  local m = new_model(22)
  local sizes, fingerprints = {}, {}
  local function key(row)
    local parts = {}
    for i = 1, 36 do parts[i] = string.format("%.4f", row[i]) end
    return table.concat(parts, ",")
  end
  local index_of = {}
  for i = 1, 300 do index_of[key(flat(ds[i]:totable()))] = i end
  local n_keys = 0
  for _ in pairs(index_of) do n_keys = n_keys + 1 end
  assert(n_keys == 300, "fixture samples are distinct: " .. n_keys)

  local batch_logs = {}
  m:fit(ds, { epochs = 2, verbose = 0, on_batch_end = function(model, logs)
    assert(rawequal(model, m), "on_batch_end gets the model")
    local x = model.layers[1].output:totable()
    local e = logs.epoch
    sizes[e] = sizes[e] or {}
    fingerprints[e] = fingerprints[e] or {}
    sizes[e][#sizes[e] + 1] = #x
    for _, row in ipairs(x) do
      local i = index_of[key(row)]
      assert(i, "a trained row is a fixture sample")
      fingerprints[e][#fingerprints[e] + 1] = i
    end
    batch_logs[#batch_logs + 1] = { epoch = logs.epoch, batch = logs.batch, samples = logs.samples,
                                    loss = logs.loss, accuracy = logs.accuracy }
  end })
  for e = 1, 2 do
    same_list(sizes[e], { 32, 32, 32, 32, 32, 32, 32, 32, 32, 12 }, "batch sizes of epoch " .. e)
    local count = {}
    for _, i in ipairs(fingerprints[e]) do count[i] = (count[i] or 0) + 1 end
    for i = 1, 300 do assert(count[i] == 1, "epoch " .. e .. " trains sample " .. i .. " " .. tostring(count[i]) .. " times") end
  end
  local in_order, same_order = 0, 0
  for k = 1, 300 do
    if fingerprints[1][k] == k then in_order = in_order + 1 end
    if fingerprints[1][k] == fingerprints[2][k] then same_order = same_order + 1 end
  end
  assert(in_order < 30, "epoch 1 is shuffled (" .. in_order .. " samples in place)")
  assert(same_order < 30, "each epoch draws a new order (" .. same_order .. " in the same place)")

  -- on_batch_end logs: the epoch so far.
  assert(#batch_logs == 20, "on_batch_end called per batch: " .. #batch_logs)
  for k, l in ipairs(batch_logs) do
    local b = (k - 1) % 10 + 1
    assert(l.epoch == (k - 1) // 10 + 1 and l.batch == b, "on_batch_end epoch/batch at call " .. k)
    assert(l.samples == math.min(b * 32, 300), "on_batch_end samples at batch " .. b .. ": " .. l.samples)
    assert(type(l.loss) == "number" and type(l.accuracy) == "number", "on_batch_end loss and accuracy")
  end
  assert(batch_logs[10].loss == m.history.loss[1], "the last batch's running loss is the epoch's loss")
  assert(batch_logs[20].accuracy == m.history.accuracy[2], "the last batch's running accuracy is the epoch's")

  -- shuffle = false: the first batch is samples 1..32, exactly train_batch's step.
  local a, b = new_model(23), new_model(23)
  a:step(1, ds, { shuffle = false })
  b:train_batch(ds:images(1, 32), ds:labels(1, 32))
  same_weights(a, b, "step(1){shuffle = false} vs train_batch on samples 1..32")
  local c = new_model(23)
  c:step(1, ds)
  local wa, wc, differ = all_weights(a), all_weights(c), 0
  for i = 1, #wa do if wa[i] ~= wc[i] then differ = differ + 1 end end
  assert(differ > 0, "a shuffled first batch is not samples 1..32")

  -- batch_size: 300 = 2 * 128 + 44.
  local big = new_model(24)
  local sizes_128 = {}
  big:fit(ds, { epochs = 1, verbose = 0, batch_size = 128, on_batch_end = function(model)
    sizes_128[#sizes_128 + 1] = #model.layers[1].output
  end })
  same_list(sizes_128, { 128, 128, 44 }, "batch_size = 128")
  assert(big.cursor.batches == 3, "cursor.batches with batch_size 128: " .. big.cursor.batches)
  -- compile's batch_size is the default for training.
  local c16 = new_model(24)
  c16:compile { optimizer = "adam", loss = SPARSE, batch_size = 16 }
  assert(c16:step(1, ds).samples == 16, "compile{batch_size = 16}")
  assert(c16.cursor.batches == 19, "19 batches of 16 (the last of 12)")

  -- Another batch size, or other data, cannot continue an epoch: it starts a new one.
  local sw = new_model(25)
  sw:step(2, ds, Q)
  sw:step(1, ds, { batch_size = 100 })
  cursor_is(sw, 1, 1, 164, "another batch size mid-epoch")
  sw:step(1, val)
  cursor_is(sw, 2, 1, 196, "other data mid-epoch")
end

-- ---- callbacks ----------------------------------------------------------------------
do
  -- on_batch_end returning false stops after that batch.
  local m = new_model(21)
  local h = m:fit(ds, { epochs = 3, verbose = 0, on_batch_end = function(_, logs)
    if logs.epoch == 1 and logs.batch == 4 then return false end
  end })
  cursor_is(m, 0, 4, 128, "stopped by on_batch_end at batch 4")
  assert(h.epoch == nil and m.history.epoch == nil, "no epoch finished")
  contains(tostring(m), "in epoch 1 at batch 4/10, 128 samples seen", "tostring after a stop")
  m:epoch(Q)
  cursor_is(m, 1, 0, 300, "epoch() after the stop")
  m:fit(ds, { epochs = 2, verbose = 0 })
  same_weights(m, ref, "stopped at batch 4 and continued vs never stopped")
  same_list(m.history.loss, ref.history.loss, "losses after stopping and continuing")

  -- Only false stops: nil, true and other values go on.
  local g = new_model(21)
  local calls = 0
  g:fit(ds, { epochs = 1, verbose = 0, on_batch_end = function()
    calls = calls + 1
    return calls % 3 == 0 and 0 or calls % 2 == 0 or nil
  end })
  assert(calls == 10, "callbacks returning 0, true or nil do not stop: " .. calls .. " batches")

  -- Stopping on the last batch of an epoch leaves the cursor at the boundary.
  local e = new_model(21)
  e:fit(ds, { epochs = 3, verbose = 0, on_batch_end = function(_, logs)
    if logs.epoch == 2 and logs.batch == 10 then return false end
  end })
  cursor_is(e, 2, 0, 600, "stopped on the last batch of epoch 2")
  same_list(e.history.epoch, { 1, 2 }, "the epoch stopped on its last batch is recorded")

  -- on_batch_end in m:step too.
  local s = new_model(21)
  s:step(8, ds, { on_batch_end = function(_, logs) return logs.batch < 5 end })
  cursor_is(s, 0, 5, 160, "m:step stopped by on_batch_end")

  -- on_epoch_end gets (model, epoch, logs); false stops fit after that epoch.
  local o = new_model(21)
  local seen = {}
  local oh = o:fit(ds, { epochs = 3, verbose = 0, on_epoch_end = function(model, epoch, logs)
    assert(rawequal(model, o), "on_epoch_end gets the model")
    assert(math.type(epoch) == "integer", "on_epoch_end's epoch is an integer")
    seen[#seen + 1] = { epoch = epoch, loss = logs.loss, accuracy = logs.accuracy, samples = logs.samples,
                        seen = model.cursor.seen }
    if epoch == 2 then return false end
  end })
  assert(#seen == 2 and seen[1].epoch == 1 and seen[2].epoch == 2, "on_epoch_end stops fit after epoch 2")
  for i = 1, 2 do
    assert(seen[i].loss == ref.history.loss[i], "on_epoch_end logs.loss = the epoch's loss at " .. i)
    assert(seen[i].accuracy == ref.history.accuracy[i], "on_epoch_end logs.accuracy at " .. i)
    assert(seen[i].samples == 300, "on_epoch_end logs.samples")
    assert(seen[i].seen == 300 * i, "the model inside on_epoch_end is at the epoch boundary")
  end
  same_list(oh.epoch, { 1, 2 }, "fit stopped by on_epoch_end returns its 2 epochs")
  cursor_is(o, 2, 0, 600, "after on_epoch_end stopped fit")

  -- An error inside a callback is a Lua error with its message; the model
  -- stays at a batch boundary and can continue.
  local x = new_model(21)
  local msg = raises("boom at batch 5", x.fit, x, ds, { epochs = 3, verbose = 0, on_batch_end = function(_, logs)
    if logs.batch == 5 then error("boom at batch 5") end
  end })
  contains(msg, "training.lua", "the callback's error keeps its position")
  cursor_is(x, 0, 5, 160, "after an error in on_batch_end")
  x:epoch(Q)
  x:fit(ds, { epochs = 2, verbose = 0 })
  same_weights(x, ref, "error at batch 5, then continued vs never stopped")
  same_list(x.history.loss, ref.history.loss, "losses after an error and continuing")

  -- A non-string error value comes through as it is.
  local t = new_model(21)
  local token = { why = "table error" }
  local ok, err = pcall(t.step, t, 3, ds, { on_batch_end = function() error(token) end })
  assert(not ok and rawequal(err, token), "a table raised in a callback comes back as that table")
  cursor_is(t, 0, 1, 32, "after an error on the first batch")

  -- An error in on_epoch_end, with and without validation data.
  for _, with_val in ipairs { false, true } do
    local y = new_model(21)
    local emsg = raises("epoch end failed", y.fit, y, ds, { epochs = 3, verbose = 0,
      validation_data = with_val and val or nil,
      on_epoch_end = function(_, epoch) if epoch == 2 then error("epoch end failed") end end })
    cursor_is(y, 2, 0, 600, "after an error in on_epoch_end (validation " .. tostring(with_val) .. ")")
    same_list(y.history.epoch, { 1, 2 }, "epochs recorded before the error")
    y:fit(ds, { epochs = 1, verbose = 0 })
    same_weights(y, ref, "error in on_epoch_end, then continued (validation " .. tostring(with_val) .. ")")
  end

  -- With validation data, on_epoch_end sees the validation and can stop fit too.
  local vs = new_model(21)
  local vcalls = 0
  local vsh = vs:fit(ds, { epochs = 3, verbose = 0, validation_data = val, on_epoch_end = function(_, _, logs)
    vcalls = vcalls + 1
    assert(type(logs.val_loss) == "number", "on_epoch_end logs.val_loss with validation_data")
    return false
  end })
  assert(vcalls == 1, "on_epoch_end returning false stops fit with validation_data: " .. vcalls .. " calls")
  cursor_is(vs, 1, 0, 300, "stopped by on_epoch_end with validation")
  same_list(vsh.epoch, { 1 }, "fit's history after the stop")
  assert(#vsh.val_loss == 1, "one validation before the stop")

  -- Callbacks must be functions.
  local f = new_model(21)
  raises("function expected", f.fit, f, ds, { verbose = 0, on_batch_end = "stop" })
  cursor_is(f, 0, 0, 0, "a refused callback trains nothing")
end

-- ---- history ------------------------------------------------------------------------------
do
  local m = new_model(26)
  local h1 = m:fit(ds, { epochs = 2, verbose = 0 })
  local h2 = m:fit(ds, { epochs = 1, verbose = 0 })
  m:epoch(Q)
  same_list(m.history.epoch, { 1, 2, 3, 4 }, "history accumulates across calls")
  assert(#m.history.loss == 4 and #m.history.accuracy == 4, "history loss and accuracy per epoch")
  same_list(h1.epoch, { 1, 2 }, "first fit's own epochs")
  same_list(h2.epoch, { 3 }, "second fit's own epochs")
  same_list(h1.loss, { m.history.loss[1], m.history.loss[2] }, "first fit's losses")
  same_list(h2.accuracy, { m.history.accuracy[3] }, "second fit's accuracy")
  assert(h1 ~= m.history and h2 ~= m.history, "fit returns a new history, not the model's")
  local text = tostring(m.history)
  contains(text, "epoch", "tostring(history)")
  contains(text, "loss", "tostring(history)")
  contains(text, string.format("%.4f", m.history.loss[4]), "tostring(history) shows the losses")
  contains(tostring(h2), string.format("%.4f", h2.loss[1]), "tostring(fit's history)")

  -- Without metrics there is no accuracy.
  local n = new_model(26, { metrics = false })
  local hn = n:fit(ds, { epochs = 1, verbose = 0 })
  assert(hn.loss and hn.accuracy == nil and n.history.accuracy == nil, "no accuracy without metrics")

  -- validation_data adds val_loss and val_accuracy, equal to evaluate's.
  local v = new_model(27)
  local vh = v:fit(ds, { epochs = 2, verbose = 0, validation_data = val })
  assert(#vh.val_loss == 2 and #vh.val_accuracy == 2, "val_loss and val_accuracy per epoch")
  same_list(v.history.val_loss, vh.val_loss, "the model's history gets val_loss too")
  local vl, va = v:evaluate(val)
  assert(vh.val_loss[2] == vl and vh.val_accuracy[2] == va, "val_loss/val_accuracy = evaluate(val) after the epoch")
  assert(vh.val_loss[1] ~= vh.val_loss[2], "val_loss is measured after each epoch")
  local vlogs
  v:epoch(ds, { verbose = 0, validation_data = val, on_epoch_end = function(_, epoch, logs)
    vlogs = { epoch = epoch, loss = logs.loss, val_loss = logs.val_loss, val_accuracy = logs.val_accuracy }
  end })
  assert(vlogs and vlogs.epoch == 3, "on_epoch_end with validation in m:epoch")
  assert(vlogs.val_loss == v.history.val_loss[3] and vlogs.val_accuracy == v.history.val_accuracy[3],
         "on_epoch_end's logs carry val_loss and val_accuracy")
  assert(vlogs.loss == v.history.loss[3], "on_epoch_end's logs.loss with validation")
  contains(tostring(vh), "val_loss", "tostring(history) with validation")
  -- Validation does not change training: same weights as without it.
  local nv = new_model(27)
  nv:fit(ds, { epochs = 2, verbose = 0 })
  local v2 = new_model(27)
  v2:fit(ds, { epochs = 2, verbose = 0, validation_data = val })
  same_weights(v2, nv, "training with and without validation_data")

  -- Validation for some epochs only: the history still prints.
  local mixed = new_model(28)
  mixed:fit(ds, { epochs = 2, verbose = 0 })
  mixed:fit(ds, { epochs = 1, verbose = 0, validation_data = val })
  local ok, shown = pcall(tostring, mixed.history)
  assert(ok, "tostring(m.history) when only the last epoch had validation data: " .. tostring(shown))
  contains(shown, string.format("%.4f", mixed.history.val_loss[#mixed.history.val_loss]),
           "tostring(history) shows the val_loss it has")
end

-- ---- learning: the separable classes are learned in a few epochs ----------------------------
do
  for _, last in ipairs { "softmax", "sigmoid" } do
    local m = new_model(29, { last = last, optimizer = nn.adam { lr = 0.01 } })
    local h = m:fit(ds, { epochs = 8, verbose = 0, validation_data = val })
    local first, final = h.loss[1], h.loss[#h.loss]
    assert(final < first * 0.5, last .. ": loss falls (" .. first .. " -> " .. final .. ")")
    for i = 2, #h.loss do
      assert(h.loss[i] < h.loss[i - 1] + 1e-3, last .. ": loss rises at epoch " .. i)
    end
    assert(h.accuracy[#h.accuracy] > 0.9, last .. ": training accuracy " .. h.accuracy[#h.accuracy])
    local _, acc = m:evaluate(ds)
    assert(acc > 0.9, last .. ": evaluated accuracy " .. acc)
    assert(h.val_accuracy[#h.val_accuracy] > 0.9, last .. ": validation accuracy")
  end
end

-- ---- output: verbose 0, 1, 2, in a child process ------------------------------------------------
-- The child processes read the fixture from files, written again here and
-- removed even when a check fails.
local IMAGES, LABELS, BASE = make_files(300, 3)
local output_ok, output_err = pcall(function()
  local ember = arg and arg[-1]
  assert(type(ember) == "string" and #ember > 0, "arg[-1] (the ember binary) is not set")
  local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  local prelude = string.format(
    "local ds = data.idx(%q, %q); nn.seed(3); "
    .. "local m = nn.sequential { nn.flatten(), nn.dense(8, 'relu'), nn.dense(3, 'softmax') }; "
    .. "m:compile { optimizer = 'adam', loss = %q, metrics = { 'accuracy' } }; ", IMAGES, LABELS, SPARSE)
  local function run(code)
    local p = assert(io.popen(sh_quote(ember) .. " -e " .. sh_quote(prelude .. code) .. " 2>&1", "r"))
    local out = p:read("a")
    local ok, _, status = p:close()
    return out, ok, status
  end
  local function ascii(s, what)
    assert(not s:find("\27", 1, true), what .. ": escape sequences when not a terminal")
    assert(not s:find("[\128-\255]"), what .. ": non-ASCII output when not a terminal")
  end
  local function count(s, text)
    local n, at = 0, 1
    while true do
      local i = s:find(text, at, true)
      if not i then return n end
      n, at = n + 1, i + 1
    end
  end

  local out, ok = run("print('start'); m:fit(ds, { epochs = 2, verbose = 0 }); "
                      .. "m:step(3, ds); m:epoch(ds, { verbose = 0 }); print('end')")
  assert(ok, "child failed:\n" .. out)
  assert(out == "start\nend\n", "verbose = 0 (and m:step's default) print nothing, got:\n" .. out)

  out, ok = run("m:fit(ds, { epochs = 2, verbose = 2 })")
  assert(ok, "child failed:\n" .. out)
  contains(out, "Epoch 1/2", "fit verbose = 2")
  contains(out, "Epoch 2/2", "fit verbose = 2")
  assert(count(out, "loss:") == 2 and count(out, "accuracy:") == 2, "one line per epoch:\n" .. out)
  assert(count(out, "10/10") == 2, "the line names the batches done:\n" .. out)
  assert(not out:find("=", 1, true), "verbose = 2 draws no bar:\n" .. out)
  ascii(out, "verbose = 2")
  local e1 = out:find("Epoch 1/2", 1, true)
  local l1 = out:find("loss:", 1, true)
  local e2 = out:find("Epoch 2/2", 1, true)
  assert(e1 < l1 and l1 < e2, "each epoch's line follows its header:\n" .. out)

  out, ok = run("m:fit(ds, { epochs = 1 })")
  assert(ok, "child failed:\n" .. out)
  contains(out, "Epoch 1/1", "fit's default verbose")
  assert(count(out, "loss:") == 1, "not a terminal: one line per epoch, got:\n" .. out)
  ascii(out, "verbose = 1")

  out, ok = run("m:epoch(ds)")
  assert(ok, "child failed:\n" .. out)
  assert(count(out, "loss:") == 1 and not out:find("Epoch", 1, true), "m:epoch prints one line:\n" .. out)

  out, ok = run("m:fit(ds, { epochs = 1, verbose = 2, validation_data = ds:subset(1, 60) })")
  assert(ok, "child failed:\n" .. out)
  contains(out, "val_loss:", "fit with validation")
  contains(out, "val_accuracy:", "fit with validation")

  -- An uncaught error exits 1 with the message on stderr.
  local status
  out, ok, status = run("m:fit(ds, { epoch = 5 })")
  assert(not ok and status == 1, "an error exits with status 1, got " .. tostring(status))
  contains(out, 'm:fit: unknown option "epoch"', "the child's error")
end)
remove_files(IMAGES, LABELS, BASE)
assert(output_ok, output_err)

print("training.lua: all passed")
