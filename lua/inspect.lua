-- lua/inspect.lua: looking inside models, in Lua over ember.render (the C
-- renderers of src/term and writers of src/io).
--
--   m:probs(test, 61)        one sample's outputs as bars, with its image
--   test:show(61)            a sample's image
--   plot(m.history)          loss and accuracy per epoch (or per batch)
--   m:confusion(test)        the confusion matrix and the most confused pairs
--   m:misclassified(test, 6, 0)   which samples of class 6 were taken for 0
--   m:unused(test)           the unused-unit report, for more units than classes
--   m:watch(test, 61)        follow samples while training
--   compare({ m10, m30 }, test)   one table, a column per model
--
-- Verbs that show (probs, show, plot, confusion, compare) print and return
-- nothing; functions that compute (unused, misclassified) return values
-- that print well. Units are labels: unit j is position j + 1 of a tensor.
--
-- Training records what these need through callbacks added to fit, epoch
-- and step (wrapped here): the loss of every batch, the time of every
-- epoch, watched samples, and the unused-unit report when asked for
-- (fit { unused = test }). Runs before lua/repl.lua, so :who lists none of
-- this as the user's.

local render = ember.render
local registry = debug.getregistry()
local model_methods = registry["ember.Model"].__methods
local dataset_methods = registry["ember.Dataset"].__methods

local function write(s)
  return (ember.out or io.write)(s)
end

-- Per-model records, forgotten with the model.
local records = setmetatable({}, { __mode = "k" })
local function record_of(m)
  local r = records[m]
  if not r then
    r = { batch_loss = {}, epoch_seconds = {}, watch = nil, watched = {} }
    records[m] = r
  end
  return r
end

local function check_model(m, fname)
  local mt = getmetatable(m)
  if not mt or mt.__name ~= "ember.Model" then
    error(fname .. ": expected a model (got " .. type(m) .. ")", 3)
  end
end

local function check_dataset(ds, fname)
  local mt = getmetatable(ds)
  if not mt or mt.__name ~= "ember.Dataset" then
    error(fname .. ": expected a dataset such as test (got " .. type(ds) .. ")", 3)
  end
end

local function last_activation(m)
  return m.layers[#m.layers].activation
end

local function sample_name(ds, i)
  local where = ds.split and (ds.split .. "[" .. i .. "]") or ("sample " .. i)
  return string.format("%s (Keras's index %d)", where, i - 1)
end

local function class_text(ds, label)
  if label == nil then return "?" end
  if ds and label >= ds.classes then return label .. " (no such class)" end
  local name = ds and ds:class_name(label)
  return name and (label .. " " .. name) or tostring(label)
end

-- ---- one sample -------------------------------------------------------------

--- m:probs(ds, i [, opts]) or m:probs(image [, opts]): the outputs of one
--- sample as bars, unit by unit, with the class each unit stands for; for
--- outputs that are not a softmax also the share p / sum(p) the loss uses.
--- opts: top = k, collapse = false (show every unused unit), image = false
--- (or true: above the bars when they do not fit side by side), svg = path
--- (also write the bars as SVG), width = columns.
function model_methods.probs(m, ds, i, opts)
  local x, label, names, classes, title
  if tensor.is(ds) then
    x, opts, label = ds, i, -1
    title = "this input"
  else
    check_dataset(ds, "m:probs")
    if math.type(i) ~= "integer" then error("m:probs: give a sample number, e.g. m:probs(test, 61)", 2) end
    x, label = ds:sample(i)
    names, classes = ds.class_names, ds.classes
    title = sample_name(ds, i)
  end
  opts = opts or {}
  local p = m:predict(x)
  local units = #p
  classes = math.min(classes or units, units)
  local share
  if last_activation(m) ~= "softmax" and opts.share ~= false then
    local total = p:sum()
    if total > 0 then share = p / total end
  end
  local predicted = m:classify(x)
  local width = opts.width or render.columns()
  local header = string.format("%s: true %s, predicted %s", title,
                               label >= 0 and class_text(ds, label) or "?", class_text(not tensor.is(ds) and ds or nil, predicted))
  -- The image beside the bars when the terminal is wide enough; above
  -- them only when asked (image = true), as it takes many lines.
  local image
  if opts.image ~= false and #x.shape == 2 then image = render.image(x) end
  local image_cols = image and render.image_size(x.shape[1], x.shape[2]) or 0
  local side = image and width - image_cols - 2 >= 60
  if image and not side and opts.image ~= true then image = nil end
  local bars = render.bars { values = p, share = share, classes = classes, names = names,
                             true_label = label, predicted = predicted, top = opts.top,
                             collapse = opts.collapse ~= false and units > classes,
                             width = side and (width - image_cols - 2) or width }
  if side then
    write(header .. "\n" .. render.side_by_side(image, bars, 2) .. "\n")
  else
    write(header .. "\n" .. (image and (image .. "\n") or "") .. bars .. "\n")
  end
  if opts.svg then
    render.svg_bars(opts.svg, { values = p, share = share, classes = classes, names = names,
                                true_label = label, predicted = predicted, title = header })
  end
end

--- ds:show(i [, opts]): the image of sample i in the terminal, with its
--- label. opts: png = path (also write it as a PNG file).
function dataset_methods.show(ds, i, opts)
  local x, label = ds:sample(i)
  opts = opts or {}
  if #x.shape ~= 2 then error("ds:show: samples of shape " .. table.concat(x.shape, "x") .. " are not images", 2) end
  write(render.image(x) .. "\n" .. sample_name(ds, i) .. ": " .. class_text(ds, label) .. "\n")
  if opts.png then render.png(opts.png, x) end
end

--- ds:png(i, path): sample i as an 8-bit greyscale PNG file.
function dataset_methods.png(ds, i, path)
  local x = ds[i]
  render.png(path, x)
end

--- m:png_weights(path [, layer]): a dense layer's kernel (the first one by
--- default) as one tile per unit, each the shape of the input (28x28).
function model_methods.png_weights(m, path, index)
  check_model(m, "m:png_weights")
  local layer
  for i, l in ipairs(m.layers) do
    if l.kind == "dense" and (index == nil or index == i) then layer = l; break end
  end
  if not layer or not layer.weights then error("m:png_weights: no built dense layer" .. (index and (" at " .. index) or ""), 2) end
  local shape = m.input_shape
  local h, w = shape[1], shape[2] or 1
  if layer.index ~= 1 and m.layers[1].kind ~= "flatten" then h, w = layer.weights.shape[1], 1 end
  if h * w ~= layer.weights.shape[1] then h, w = layer.weights.shape[1], 1 end
  render.png_tiles(path, layer.weights, h, w)
end

-- ---- curves -------------------------------------------------------------------

local function is_history(h)
  return getmetatable(h) == registry["ember.History"]
end

-- The charts plot() draws for a history: loss (and val_loss), accuracy
-- (and val_accuracy).
local function history_charts(h)
  local charts = {}
  local function chart(keys, title)
    local series = {}
    for _, key in ipairs(keys) do
      if h[key] and #h[key] > 0 then series[#series + 1] = { name = key, y = h[key] } end
    end
    if #series > 0 then charts[#charts + 1] = { series = series, title = title } end
  end
  chart({ "loss", "val_loss" }, "loss")
  chart({ "accuracy", "val_accuracy" }, "accuracy")
  if h.unused_mass and #h.unused_mass > 0 then
    charts[#charts + 1] = { series = { { name = "mass on unused units", y = h.unused_mass } },
                            title = "unused units", x_first = 0 }
  end
  return charts
end

--- plot(x [, opts]): a line chart in the terminal. x: a history (m.history
--- or what fit returned: loss and accuracy per epoch), a model (its
--- history; with opts.batches = true the loss of every batch), a list of
--- numbers, or a table of named lists. opts: svg = path (also write it as
--- SVG; one file per chart, numbered when there are several), width,
--- height, x_name, x_first (the x of the first value: 1 unless told).
function plot(x, opts)
  opts = opts or {}
  local charts
  local mt = getmetatable(x)
  if mt and mt.__name == "ember.Model" then
    if opts.batches then
      local r = record_of(x)
      charts = { { series = { { name = "batch loss", y = r.batch_loss } }, title = "loss per batch",
                   x_name = "batch" } }
    else
      charts = history_charts(x.history)
    end
  elseif is_history(x) then
    charts = history_charts(x)
  elseif type(x) == "table" and #x > 0 then
    charts = { { series = { { name = opts.name or "values", y = x } } } }
  elseif type(x) == "table" then
    local series = {}
    local names = {}
    for k in pairs(x) do if type(k) == "string" then names[#names + 1] = k end end
    table.sort(names)
    for _, k in ipairs(names) do series[#series + 1] = { name = k, y = x[k] } end
    charts = { { series = series } }
  else
    error("plot: give a history, a model, a list of numbers or a table of named lists (got " .. type(x) .. ")", 2)
  end
  if #charts == 0 or #charts[1].series == 0 or #charts[1].series[1].y == 0 then
    write("plot: nothing to plot yet (train first)\n")
    return
  end
  for n, c in ipairs(charts) do
    local x_name = opts.x_name or c.x_name or "epoch"
    local x_first = opts.x_first or c.x_first or 1
    if c.title then write(c.title .. "\n") end
    write(render.plot(c.series, { x_first = x_first, x_name = x_name, width = opts.width,
                                  height = opts.height or 14 }) .. "\n")
    if opts.svg then
      local path = #charts > 1 and opts.svg:gsub("(%.svg)$", "-" .. n .. "%1") or opts.svg
      if path == opts.svg and #charts > 1 then path = opts.svg .. "-" .. n end
      render.svg_lines(path, c.series, { title = c.title, x_name = x_name, x_first = x_first })
    end
  end
end

-- ---- confusion --------------------------------------------------------------

--- m:confusion(ds [, opts]): the confusion matrix on a dataset with class
--- names, per-class accuracy and the most confused pairs. opts: top = k.
function model_methods.confusion(m, ds, opts)
  check_dataset(ds, "m:confusion")
  opts = opts or {}
  local predicted = m:classify(ds)
  local labels = ds:labels()
  local classes = ds.classes
  -- A prediction of a unit no label names is counted in the "none" column.
  local text = render.confusion(labels, predicted, classes, ds.class_names, { top = opts.top or 5 })
  write(text .. "\n")
end

--- m:misclassified(ds, true_label, predicted) -> the sample numbers (1-based)
--- of class true_label that the model takes for predicted.
function model_methods.misclassified(m, ds, true_label, predicted)
  check_dataset(ds, "m:misclassified")
  local got = m:classify(ds)
  local labels = ds:labels()
  local out = {}
  for i = 1, #labels do
    if labels[i] == true_label and got[i] == predicted then out[#out + 1] = i end
  end
  return out
end

-- ---- the unused-unit report -----------------------------------------------

local report_mt = {}
report_mt.__name = "ember.UnusedReport"
report_mt.__index = {}
report_mt.__tostring = function(r)
  if r.units <= r.classes then
    return string.format("unused units: none (%d units for %d classes)", r.units, r.classes)
  end
  return table.concat({
    string.format("unused units %d..%d of %d (no label names them), on %d samples:",
                  r.classes, r.units - 1, r.units, r.samples),
    string.format("  predictions of a class that does not exist: %d (%.2f%%)", r.argmax_count,
                  100 * r.argmax_share),
    string.format("  share of the outputs on unused units: mean %.6f, largest %.6f", r.mass, r.max_mass),
    string.format("  largest single unused output: %.6f (unit %d, sample %d)", r.largest, r.largest_unit,
                  r.largest_sample),
  }, "\n")
end

--- m:unused(ds) -> the unused-unit report for a model with more output
--- units than the dataset has classes: how many predictions name a unit no
--- label names, the share of the outputs on those units (mean, largest),
--- and the largest single output of such a unit. Prints as a few lines.
function model_methods.unused(m, ds)
  check_dataset(ds, "m:unused")
  local p = m:predict(ds)
  local units, classes = m.units, ds.classes
  local r = setmetatable({ units = units, classes = classes, samples = #ds, argmax_count = 0,
                           mass = 0, max_mass = 0, largest = 0, largest_unit = -1,
                           largest_sample = -1 }, report_mt)
  if units > classes then
    for i = 1, #ds do
      local row = p[i]
      if row:argmax() - 1 >= classes then r.argmax_count = r.argmax_count + 1 end
      local total, extra = row:sum(), 0
      for unit = classes, units - 1 do
        local v = row[unit + 1]
        extra = extra + v
        if v > r.largest then r.largest, r.largest_unit, r.largest_sample = v, unit, i end
      end
      local share = total > 0 and extra / total or 0
      r.mass = r.mass + share
      if share > r.max_mass then r.max_mass = share end
    end
    r.mass = r.mass / #ds
  end
  r.argmax_share = r.argmax_count / #ds
  return r
end

-- Into the history as flat lists (so checkpoints keep them, and CSV and
-- JSON export them): unused_epoch = {0, 1, ...} and, row for row,
-- unused_argmax_share, unused_mass, unused_max_mass, unused_largest.
local unused_keys = { "argmax_share", "mass", "max_mass", "largest" }
local function record_unused(m, ds, epoch)
  local r = m:unused(ds)
  local h = m.history
  local function push(key, v)
    local list = h[key] or {}
    list[#list + 1] = v
    h[key] = list
  end
  push("unused_epoch", epoch)
  for _, k in ipairs(unused_keys) do push("unused_" .. k, r[k]) end
  return r
end

-- ---- watching samples -------------------------------------------------------

--- m:watch(ds, i, ... [, { every = n, quiet = true }]): follow samples while
--- training: after every epoch (or every n batches) print the top outputs
--- of each and record its output tensor. m:watch() returns the records
--- { { epoch =, batch =, sample =, outputs = tensor }, ... };
--- m:unwatch() stops.
function model_methods.watch(m, ds, ...)
  check_model(m, "m:watch")
  local r = record_of(m)
  if ds == nil then return r.watched end
  check_dataset(ds, "m:watch")
  local samples, opts = {}, {}
  for _, v in ipairs({ ... }) do
    if type(v) == "table" then opts = v
    elseif math.type(v) == "integer" and v >= 1 and v <= #ds then samples[#samples + 1] = v
    else error("m:watch: samples are numbers 1.." .. #ds .. " (got " .. tostring(v) .. ")", 2) end
  end
  if #samples == 0 then error("m:watch: which samples? e.g. m:watch(test, 61)", 2) end
  r.watch = { ds = ds, samples = samples, every = opts.every, quiet = opts.quiet }
end

function model_methods.unwatch(m)
  record_of(m).watch = nil
end

local function look_at_watched(m, epoch, batch)
  local w = record_of(m).watch
  if not w then return end
  for _, i in ipairs(w.samples) do
    local x, label = w.ds:sample(i)
    local p = m:predict(x)
    local rec = record_of(m).watched
    rec[#rec + 1] = { epoch = epoch, batch = batch, sample = i, outputs = p }
    if not w.quiet then
      local values, positions = p:topk(math.min(3, #p))
      local parts = {}
      for k = 1, #values do
        parts[k] = string.format("%s %.3f", class_text(w.ds, positions[k] - 1), values[k])
      end
      write(string.format("  watch %s, true %s: %s\n", sample_name(w.ds, i), class_text(w.ds, label),
                          table.concat(parts, ", ")))
    end
  end
end

-- ---- training wrappers ----------------------------------------------------

-- The C methods, called as c.fit etc. so that their argument errors name
-- "fit", "epoch", "step".
local c = { fit = model_methods.fit, epoch = model_methods.epoch, step = model_methods.step }

-- Options for the C side: the user's, minus ours, with callbacks that
-- record batch losses, epoch times, watched samples and the unused report.
local function with_records(m, opts, unused_ds)
  -- Options the C side will refuse go to it as they are, for its message.
  if opts ~= nil and type(opts) ~= "table" then return opts end
  local r = record_of(m)
  local own = {}
  for k, v in pairs(opts or {}) do
    if k ~= "unused" then own[k] = v end
  end
  local user_batch, user_epoch = own.on_batch_end, own.on_epoch_end
  if (user_batch ~= nil and type(user_batch) ~= "function") or
     (user_epoch ~= nil and type(user_epoch) ~= "function") then
    return own
  end
  local prev_loss, prev_samples = 0, 0
  local epoch_started = ember.clock()
  own.on_batch_end = function(model, logs)
    -- logs.loss is the epoch's running mean: the batch's own loss is the
    -- difference of two running sums.
    local loss = logs.loss
    if logs.batch > 1 and logs.samples > prev_samples then
      loss = (logs.loss * logs.samples - prev_loss * prev_samples) / (logs.samples - prev_samples)
    end
    r.batch_loss[#r.batch_loss + 1] = loss
    prev_loss, prev_samples = logs.loss, logs.samples
    local w = r.watch
    if w and w.every and #r.batch_loss % w.every == 0 then look_at_watched(model, logs.epoch, logs.batch) end
    if user_batch then return user_batch(model, logs) end
  end
  own.on_epoch_end = function(model, epoch, logs)
    local now = ember.clock()
    r.epoch_seconds[#r.epoch_seconds + 1] = now - epoch_started
    prev_loss, prev_samples = 0, 0
    if unused_ds then record_unused(model, unused_ds, epoch) end
    if r.watch and not r.watch.every then look_at_watched(model, epoch, logs.batch) end
    local go_on
    if user_epoch then go_on = user_epoch(model, epoch, logs) end
    epoch_started = ember.clock()   -- the report, watching, callbacks are not the epoch's time
    return go_on
  end
  return own
end

local function unused_option(m, opts, fname)
  local ds = type(opts) == "table" and opts.unused or nil
  if ds == nil then return nil end
  check_dataset(ds, fname .. ": unused")
  -- Epoch 0: the initial weights, so the decline can be seen.
  if m.cursor.seen == 0 and not (m.history.unused_epoch and #m.history.unused_epoch > 0) then
    if not m.built then m:build(ds.shape) end
    record_unused(m, ds, 0)
  end
  return ds
end

-- Calls a C training method; an error is raised again as if it came from
-- the user's call (level 2 of the wrapper), without this file's position
-- in front of the message, so the user sees their own line.
local function call(name, ...)
  local results = table.pack(pcall(c[name], ...))
  if results[1] then return table.unpack(results, 2, results.n) end
  local err = results[2]
  if type(err) == "string" then
    error((err:gsub("^lua/inspect%.lua:%d+: ", "")), 3)
  end
  error(err, 0)   -- a table or other value a callback raised: as it is
end

--- m:fit(data, { ..., unused = test }): as the C fit, and with unused =
--- a dataset, the unused-unit report before training and after each epoch
--- goes into m.history (unused_epoch, unused_argmax_share, unused_mass,
--- unused_max_mass, unused_largest).
function model_methods.fit(m, data, opts)
  local ds = unused_option(m, opts, "m:fit")
  return call("fit", m, data, with_records(m, opts, ds))
end

function model_methods.epoch(m, a, b)
  local opts = (type(a) == "table" and getmetatable(a) == nil) and a or b
  local ds = unused_option(m, opts, "m:epoch")
  if opts == a then return call("epoch", m, with_records(m, opts, ds)) end
  return call("epoch", m, a, with_records(m, opts, ds))
end

function model_methods.step(m, n, a, b)
  local opts = (type(a) == "table" and getmetatable(a) == nil) and a or b
  if opts == a then return call("step", m, n, with_records(m, opts, nil)) end
  return call("step", m, n, a, with_records(m, opts, nil))
end

-- ---- comparing models -------------------------------------------------------

--- compare({ m1, m2, ... }, test): one table, a column per model: units,
--- output activation, parameters, test loss and accuracy, the unused-unit
--- figures, and the mean time of an epoch trained in this session.
function compare(models, ds)
  if type(models) ~= "table" or #models == 0 then error("compare: give a list of models, e.g. compare({ m10, m30 }, test)", 2) end
  check_dataset(ds, "compare")
  local rows = { { "units" }, { "output activation" }, { "parameters" }, { "test loss" },
                 { "test accuracy" }, { "argmax >= classes" }, { "mass on unused" },
                 { "largest unused output" }, { "seconds per epoch" } }
  local header = { "" }
  for k, m in ipairs(models) do
    check_model(m, "compare")
    header[#header + 1] = string.format("%d: %d %s", k, m.units, last_activation(m))
    local loss, acc = m:evaluate(ds)
    local r = m:unused(ds)
    local secs = record_of(m).epoch_seconds
    local mean
    if #secs > 0 then
      mean = 0
      for _, s in ipairs(secs) do mean = mean + s end
      mean = mean / #secs
    end
    local has = m.units > ds.classes
    local cells = { tostring(m.units), last_activation(m), tostring(m.params),
                    string.format("%.4f", loss), acc and string.format("%.4f", acc) or "-",
                    has and string.format("%d (%.2f%%)", r.argmax_count, 100 * r.argmax_share) or "-",
                    has and string.format("%.6f", r.mass) or "-",
                    has and string.format("%.6f", r.largest) or "-",
                    mean and string.format("%.2f", mean) or "-" }
    for i, c in ipairs(cells) do rows[i][#rows[i] + 1] = c end
  end
  local widths = {}
  for _, row in ipairs({ header, table.unpack(rows) }) do
    for i, c in ipairs(row) do widths[i] = math.max(widths[i] or 0, #c) end
  end
  local lines = {}
  for _, row in ipairs({ header, table.unpack(rows) }) do
    local cells = {}
    for i, c in ipairs(row) do
      cells[i] = i == 1 and (c .. string.rep(" ", widths[i] - #c)) or (string.rep(" ", widths[i] - #c) .. c)
    end
    lines[#lines + 1] = table.concat(cells, "  ")
  end
  write(table.concat(lines, "\n") .. "\n")
end

-- ---- CSV and JSON -------------------------------------------------------------

-- Written to a temporary file in the same folder, then renamed over the
-- target: a failure leaves an old file as it was.
local function write_file(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("cannot write " .. path .. ": " .. err, 3) end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(tmp)
    error("cannot write " .. path .. ": " .. tostring(werr or cerr), 3)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    error("cannot write " .. path .. ": " .. rerr, 3)
  end
end

local function number_text(v)
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if math.type(v) == "integer" then return tostring(v) end
  return string.format("%.9g", v)
end

local function json_of(v)
  if type(v) == "table" then
    if #v > 0 or next(v) == nil then
      local parts = {}
      for i = 1, #v do parts[i] = json_of(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%q:", k) .. json_of(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(v) == "number" then
    return number_text(v)
  elseif type(v) == "string" then
    return (string.format("%q", v):gsub("\\\n", "\\n"))
  elseif type(v) == "boolean" then
    return tostring(v)
  end
  return "null"
end

-- Histories: h:csv(path), h:json(path).
local history_mt = registry["ember.History"]
history_mt.__index = {
  csv = function(h, path)
    local keys = {}
    for _, k in ipairs({ "epoch", "loss", "accuracy", "val_loss", "val_accuracy" }) do
      if h[k] then keys[#keys + 1] = k end
    end
    local lines = { table.concat(keys, ",") }
    for i = 1, #(h.epoch or {}) do
      local cells = {}
      for j, k in ipairs(keys) do
        local v = h[k][i]
        cells[j] = (v == nil or v ~= v) and "" or number_text(v)
      end
      lines[#lines + 1] = table.concat(cells, ",")
    end
    write_file(path, table.concat(lines, "\n") .. "\n")
  end,
  json = function(h, path)
    local plain = {}
    for k, v in pairs(h) do plain[k] = v end
    write_file(path, json_of(plain) .. "\n")
  end,
}

report_mt.__index.json = function(r, path)
  local plain = {}
  for k, v in pairs(r) do plain[k] = v end
  write_file(path, json_of(plain) .. "\n")
end
report_mt.__index.csv = function(r, path)
  local keys = { "units", "classes", "samples", "argmax_count", "argmax_share", "mass", "max_mass",
                 "largest", "largest_unit", "largest_sample" }
  local values = {}
  for i, k in ipairs(keys) do values[i] = number_text(r[k]) end
  write_file(path, table.concat(keys, ",") .. "\n" .. table.concat(values, ",") .. "\n")
end
