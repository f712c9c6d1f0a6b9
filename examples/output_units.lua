-- examples/output_units.lua: how many output units does a 10-class model need?
--
--   ember examples/output_units.lua [epochs [training images]]
--
-- The forum model (Flatten, Dense 512 relu, Dense 1024 relu, Dense N) with
-- 5, 10 and 30 sigmoid output units, and 10 softmax units, trained side by
-- side with Adam and sparse_categorical_crossentropy. For every model,
-- before training (epoch 0) and after each epoch, on the 10,000 test images:
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

local function forum_model(units, activation)
  seed(7)   -- the same initial hidden layers for every model
  local m = nn.sequential {
    nn.flatten(), nn.dense(512, "relu"), nn.dense(1024, "relu"), nn.dense(units, activation),
  }
  m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
  return m
end

local setups = { { 5, "sigmoid" }, { 10, "sigmoid" }, { 30, "sigmoid" }, { 10, "softmax" } }
local models, rows = {}, {}
for _, setup in ipairs(setups) do
  local name = string.format("%d %s", setup[1], setup[2])
  local m = forum_model(setup[1], setup[2])
  m:build(train.shape)
  if setup[1] == 30 then
    print("The 30-unit model's outputs for test[61] (Keras's x_test[60]) before training:")
    m:probs(test, 61)
  end
  -- unused = test records the unused-unit report at epoch 0 and after
  -- every epoch; the 5-unit model is refused before any weight changes.
  local accuracy = {}
  local ok, err = pcall(function()
    local _, acc0 = m:evaluate(test)
    accuracy[0] = acc0
    m:fit(train, {
      epochs = epochs, verbose = 0, unused = test,
      on_epoch_end = function(model, epoch)
        local _, acc = model:evaluate(test)
        accuracy[epoch] = acc
        io.stderr:write(string.format("%s: epoch %d, test accuracy %.4f\n", name, epoch, acc))
      end,
    })
  end)
  if not ok then
    rows[#rows + 1] = { name = name, error = err }
  else
    models[#models + 1] = m
    local h = m.history
    for k, epoch in ipairs(h.unused_epoch) do
      rows[#rows + 1] = { name = name, epoch = epoch, accuracy = accuracy[epoch], unused = setup[1] > 10,
                          argmax = math.floor(h.unused_argmax_share[k] * #test + 0.5),
                          mass = h.unused_mass[k], largest = h.unused_largest[k] }
    end
    if setup[1] == 30 then
      print("\nThe same after training:")
      m:probs(test, 61)
      print("\nThe share of the outputs on the 20 unused units, epoch by epoch:")
      plot({ ["mass on unused units"] = h.unused_mass }, { x_first = 0 })
    end
  end
end

print(string.format("\n%-12s %5s %9s %12s %15s %15s", "model", "epoch", "accuracy", "argmax >= 10",
                    "mass on unused", "largest unused"))
for _, r in ipairs(rows) do
  if r.error then
    print(string.format("%-12s %s", r.name, (tostring(r.error):gsub("^[^:]*:%d+: ", ""))))
  else
    print(string.format("%-12s %5d %9.4f %12s %15s %15s", r.name, r.epoch, r.accuracy,
                        r.unused and tostring(r.argmax) or "-",
                        r.unused and string.format("%.6f", r.mass) or "-",
                        r.unused and string.format("%.6f", r.largest) or "-"))
  end
end

print("\nSide by side on the test set:")
compare(models, test)
