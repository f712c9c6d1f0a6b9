-- examples/output_units.lua: how many output units does a 10-class model need?
--
--   ember examples/output_units.lua [epochs [training images]]
--
-- The forum model (Flatten, Dense 512 relu, Dense 1024 relu, Dense N) with
-- 5, 10 and 30 sigmoid output units, and 10 softmax units, trained side by
-- side with Adam and sparse_categorical_crossentropy. For every model,
-- before training and after each epoch, on the 10,000 test images:
--   accuracy         argmax(output) == label
--   argmax >= 10     how many predictions name a class that does not exist
--   mass on unused   the mean share of the outputs on units 10 and up, after
--                    the renormalisation the loss uses: sum(p[10..]) / sum(p)
--   largest unused   the largest single output of a unit no label names
-- The loss renormalises the outputs (-log(p_label / sum p)), so units that no
-- label ever names are pushed towards 0: extra units cost nothing but
-- parameters. With 5 units the labels 5..9 cannot be named at all.

local epochs = tonumber(arg[1]) or 5
local limit = tonumber(arg[2])
local train, test = data.load("fashion-mnist")
if limit then train = train:subset(1, limit) end
local classes = train.classes

-- The figures above for a model on the test set.
local function measure(m)
  local p = m:predict(test)            -- #test x units
  local labels = test:labels()
  local correct, unused_argmax, mass, largest = 0, 0, 0, 0
  for i = 1, #test do
    local row = p[i]
    local position = row:argmax()      -- 1-based: unit = position - 1
    local label = labels[i]
    if position - 1 == label then correct = correct + 1 end
    if position - 1 >= classes then unused_argmax = unused_argmax + 1 end
    local total, extra = row:sum(), 0
    for unit = classes, m.units - 1 do
      local v = row[unit + 1]
      extra = extra + v
      if v > largest then largest = v end
    end
    if total > 0 then mass = mass + extra / total end
  end
  return { accuracy = correct / #test, unused_argmax = unused_argmax,
           mass = mass / #test, largest = largest }
end

local setups = {
  { units = 5, activation = "sigmoid" },
  { units = 10, activation = "sigmoid" },
  { units = 30, activation = "sigmoid" },
  { units = 10, activation = "softmax" },
}
local rows = {}
for _, setup in ipairs(setups) do
  local name = string.format("%d %s", setup.units, setup.activation)
  seed(7)
  local m = nn.sequential {
    nn.flatten(), nn.dense(512, "relu"), nn.dense(1024, "relu"),
    nn.dense(setup.units, setup.activation),
  }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  local ok, err = pcall(m.epoch, m, train, { verbose = 0 })
  if not ok then
    rows[#rows + 1] = { name = name, error = err }
  else
    -- Epoch 0 is the initial weights: build a twin with the same seed.
    seed(7)
    local fresh = nn.sequential {
      nn.flatten(), nn.dense(512, "relu"), nn.dense(1024, "relu"),
      nn.dense(setup.units, setup.activation),
    }
    fresh:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
    fresh:build(train.shape)
    local r0 = measure(fresh)
    r0.name, r0.epoch = name, 0
    rows[#rows + 1] = r0
    local started = os.clock()
    for epoch = 1, epochs do
      if epoch > 1 then m:epoch(train, { verbose = 0 }) end
      local r = measure(m)
      r.name, r.epoch = name, epoch
      rows[#rows + 1] = r
      io.stderr:write(string.format("%s: epoch %d done\n", name, epoch))
    end
    rows[#rows].seconds = os.clock() - started
  end
end

print(string.format("%-12s %5s %9s %12s %15s %15s", "model", "epoch", "accuracy", "argmax >= 10",
                    "mass on unused", "largest unused"))
for _, r in ipairs(rows) do
  if r.error then
    print(string.format("%-12s %s", r.name, tostring(r.error)))
  else
    local has_unused = r.name:match("^30")
    print(string.format("%-12s %5d %9.4f %12s %15s %15s", r.name, r.epoch, r.accuracy,
                        has_unused and tostring(r.unused_argmax) or "-",
                        has_unused and string.format("%.6f", r.mass) or "-",
                        has_unused and string.format("%.6f", r.largest) or "-"))
  end
end
