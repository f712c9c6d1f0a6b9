-- examples/by_hand.lua: training one step at a time, watching one sample.
--
--   ember examples/by_hand.lua
--
-- Keras's fit runs whole epochs. Here each call continues exactly where
-- the last one stopped (m.cursor: epoch, batch, samples seen), so you can
-- look at the model between any two batches. m:step(n) runs the next n
-- batches, m:epoch() the rest of the current epoch (or a whole one).

local train, test = data.load("fashion-mnist")
local x, label = test:sample(61)   -- Keras's x_test[60]: a sneaker

seed(1)
local m = nn.sequential { nn.flatten(), nn.dense(128, "relu"), nn.dense(30, "sigmoid") }
m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy",
            metrics = { "accuracy" }, data = train }

-- The three largest outputs for our sample, with the class each unit means
-- and, in brackets, its share of all outputs: the renormalised probability
-- the loss works with (-log(p_label / sum p)). Sigmoid outputs need not
-- sum to 1, and the loss only cares about the share.
local function show(when)
  local p = m:predict(x)
  local total = p:sum()
  local values, positions = p:topk(3)
  local parts = {}
  for i = 1, 3 do
    local unit = positions[i] - 1          -- positions are 1-based, units are labels
    parts[i] = string.format("%d %s %.3f (%.0f%%)", unit, test:class_name(unit) or "(no such class)",
                             values[i], 100 * values[i] / total)
  end
  local unused = 0
  for unit = 10, m.units - 1 do unused = unused + p[unit + 1] end
  print(string.format("%-24s %s | units 10..29 sum to %.4f", when, table.concat(parts, ", "), unused))
end

print(string.format("sample test[61], true class %d %s", label, test:class_name(label)))
show("before training")
m:step(1)
show("after 1 batch")
m:step(9)
show("after 10 batches")
m:step(90)
show("after 100 batches")
m:epoch { verbose = 0 }           -- the rest of epoch 1
show("after epoch 1")
print(m)                          -- the cursor: 1 epoch done
m:step(500)
show("500 batches into epoch 2")
print(m)
m:epoch { verbose = 0 }
show("after epoch 2")
print("test loss, accuracy:", m:evaluate(test))
