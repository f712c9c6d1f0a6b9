-- lua/model.lua: the parts of the Model API written in Lua, over the C
-- bindings: m:summary(), and how a training history prints.
--
-- Runs once when ember starts (compiled into the binary). It extends the
-- method table the C side keeps in the Model metatable's __methods.

local registry = debug.getregistry()
local methods = registry["ember.Model"].__methods

local function commas(n)
  local s = tostring(math.tointeger(n) or n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function shape_text(shape)
  if not shape then return "?" end
  local parts = { "None" }
  for _, d in ipairs(shape) do parts[#parts + 1] = tostring(d) end
  return "(" .. table.concat(parts, ", ") .. ")"
end

local function pad(s, n)
  s = tostring(s)
  return s .. string.rep(" ", math.max(1, n - #s))
end

--- m:summary([print_fn]): the Keras table of layers, output shapes and
--- parameters, a line at a time through print_fn (print by default, as
--- Keras's summary(print_fn=...)). Returns nothing, as Keras does.
function methods.summary(m, print_fn)
  print_fn = print_fn or print
  local rule = string.rep("_", 65)
  local lines = { 'Model: "sequential"', rule,
                  " " .. pad("Layer (type)", 28) .. pad("Output Shape", 26) .. "Param #", string.rep("=", 65) }
  local total = 0
  for i, layer in ipairs(m.layers) do
    local kind = layer.kind:sub(1, 1):upper() .. layer.kind:sub(2)
    local out = layer.output_shape
    if not out and layer.kind == "dense" then out = { layer.units } end
    total = total + layer.params
    lines[#lines + 1] = " " .. pad(layer.name .. " (" .. kind .. ")", 28) .. pad(shape_text(out), 26)
                        .. (m.built and commas(layer.params) or "?")
    if i < #m.layers then lines[#lines + 1] = "" end
  end
  lines[#lines + 1] = string.rep("=", 65)
  if m.built then
    lines[#lines + 1] = "Total params: " .. commas(total)
    lines[#lines + 1] = "Trainable params: " .. commas(total)
    lines[#lines + 1] = "Non-trainable params: 0"
  else
    lines[#lines + 1] = "Not built yet: the input shape is fixed by the first training or m:build{28, 28}."
  end
  lines[#lines + 1] = rule
  for _, line in ipairs(lines) do print_fn(line) end
end

-- A history prints as one row per epoch.
registry["ember.History"].__tostring = function(h)
  local columns = {}
  for _, key in ipairs({ "loss", "accuracy", "val_loss", "val_accuracy" }) do
    if h[key] then columns[#columns + 1] = key end
  end
  local rows = { "epoch  " .. table.concat(columns, "  ") }
  for i, epoch in ipairs(h.epoch or {}) do
    local cells = { string.format("%5d", epoch) }
    for _, key in ipairs(columns) do
      local v = h[key][i]   -- NaN (or nil) for an epoch that had no such figure
      cells[#cells + 1] = (v and v == v) and string.format("%" .. #key .. ".4f", v)
                          or string.rep(" ", #key - 1) .. "-"
    end
    rows[#rows + 1] = table.concat(cells, "  ")
  end
  return table.concat(rows, "\n")
end

-- What m:step and m:epoch return prints as one line.
registry["ember.Logs"].__tostring = function(logs)
  local parts = { string.format("epoch %d: loss %.4f", logs.epoch, logs.loss) }
  if logs.accuracy then parts[#parts + 1] = string.format("accuracy %.4f", logs.accuracy) end
  parts[#parts + 1] = string.format("(%d batches, %d samples)", logs.batches, logs.samples)
  return table.concat(parts, ", "):gsub(", %(", " (")
end
