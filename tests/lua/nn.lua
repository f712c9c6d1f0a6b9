-- tests/lua/nn.lua: the `nn` module, the Model and the Layer userdata.
--
-- Run as `build/ember tests/lua/nn.lua`; exit 0 passes. Every function of
-- the module and every error message people see is checked here; the
-- cursor arithmetic and callbacks of training are in training.lua. The
-- script writes its own small IDX files (300 samples of 6x6 from three
-- separable classes), so it needs no real dataset.

local fixture = dofile((arg[0]:match("^(.*)/") or ".") .. "/fixture.lua")

-- ---- helpers -------------------------------------------------------------
local raises = fixture.raises

local contains = fixture.contains

local same_list = fixture.same_list

-- Flattens nested tables of numbers (tensor:totable()) into one list.
local flat = fixture.flat

-- Every parameter of a model, in order, as one Lua list.
local all_weights = fixture.all_weights

local function close(a, b, tol, what)
  assert(math.abs(a - b) <= tol, what .. ": " .. tostring(a) .. " vs " .. tostring(b))
end

local function f32(x) return (string.unpack("f", string.pack("f", x))) end


-- ---- fixture: 300 samples of 6x6, three classes ---------------------------
-- Class k (0, 1, 2) is bright (200..230) in rows 2k+1 and 2k+2 and dark
-- (0..30) elsewhere; the noise comes from a fixed LCG, so the files are the
-- same on every run. Labels cycle 0, 1, 2, ...
local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function make_dataset(count, classes)
  local base = os.tmpname()
  local images_path = base .. "-images-idx3-ubyte"
  local labels_path = base .. "-labels-idx1-ubyte"
  local images, labels = fixture.idx_bytes(count, classes)
  write(images_path, images)
  write(labels_path, labels)
  local ds = data.idx(images_path, labels_path)
  os.remove(images_path)
  os.remove(labels_path)
  os.remove(base)
  return ds
end

local ds = make_dataset(300, 3)
assert(#ds == 300, "fixture: " .. #ds .. " samples")

local SPARSE = "sparse_categorical_crossentropy"

local function new_model(seed, last_activation)
  nn.seed(seed)
  return nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(3, last_activation or "softmax") }
end

local function compiled_model(seed, opts)
  local m = new_model(seed)
  opts = opts or {}
  local metrics = { "accuracy" }
  if opts.metrics == false then metrics = nil end
  m:compile { optimizer = opts.optimizer or "adam", loss = SPARSE, metrics = metrics }
  return m
end

-- ---- the module ------------------------------------------------------------
for _, name in ipairs { "sequential", "dense", "flatten", "dropout", "adam", "sgd", "rmsprop", "seed" } do
  assert(type(nn[name]) == "function", "nn." .. name .. " missing")
end

-- ---- layer constructors ---------------------------------------------------
raises("nn.dense: units must be a positive integer (got -3)", nn.dense, -3)
raises("nn.dense: units must be a positive integer (got 2.5)", nn.dense, 2.5)
raises("nn.dense: units must be a positive integer (got 0)", nn.dense, 0)
do
  -- Called with no argument the message must not show luaL_tolstring's
  -- "no value: (nil)" for a missing stack slot.
  local msg = raises("nn.dense: units must be a positive integer (got ", nn.dense)
  assert(not string.find(msg, "(nil)", 1, true), "nn.dense() message shows a raw pointer: " .. msg)
end
raises('activation "sigmod" unknown (relu, sigmoid, softmax, tanh, linear)', nn.dense, 10, "sigmod")
raises("nn.dense:", nn.dense, 10, "sigmod")
raises("nn.dropout: rate must be in [0, 1) (got 1.5)", nn.dropout, 1.5)
raises("nn.dropout: rate must be in [0, 1) (got -0.1)", nn.dropout, -0.1)
raises("nn.dropout: rate must be in [0, 1) (got 1)", nn.dropout, 1)

do
  local d = nn.dense(10, "relu")
  assert(d.kind == "dense" and d.units == 10 and d.activation == "relu", "nn.dense spec fields")
  assert(tostring(d) == 'nn.dense(10, "relu")', "tostring(nn.dense): " .. tostring(d))
  assert(nn.dense(4).activation == "linear", "nn.dense default activation: " .. tostring(nn.dense(4).activation))
  for _, act in ipairs { "relu", "sigmoid", "softmax", "tanh", "linear" } do
    assert(nn.dense(2, act).activation == act, "activation " .. act)
  end
  assert(nn.flatten().kind == "flatten", "nn.flatten kind")
  assert(tostring(nn.flatten()) == "nn.flatten()", "tostring(nn.flatten): " .. tostring(nn.flatten()))
  local drop = nn.dropout(0.25)
  assert(drop.kind == "dropout" and drop.rate == 0.25, "nn.dropout spec fields")
  assert(nn.dropout(0).rate == 0, "nn.dropout(0) accepted")
end

-- ---- nn.sequential -----------------------------------------------------------
raises("nn.sequential: give it a list of layers", nn.sequential, {})
raises("bad argument #1 to", nn.sequential)
raises("nn.sequential: item 2 is a number, not a layer (nn.dense, nn.flatten, nn.dropout)",
       nn.sequential, { nn.flatten(), 42, nn.dense(3) })
raises("nn.sequential: item 1 is a table, not a layer", nn.sequential, { { kind = "dense", units = 3 } })
raises("nn.sequential: the last layer must be nn.dense", nn.sequential, { nn.flatten(), nn.dense(3), nn.dropout(0.5) })
raises("nn.sequential: the last layer must be nn.dense", nn.sequential, { nn.flatten() })
raises("nn.sequential: takes one table of layers", nn.sequential, { nn.dense(3) }, { 6, 6 })

-- ---- optimizers ---------------------------------------------------------------
do
  local msg = raises("nn.adam:", nn.adam, { lr = -1 })
  contains(msg, "learning rate must be a positive number (got -1)", "nn.adam{lr = -1} message")
  raises("learning rate must be a positive number (got 0)", nn.sgd, { lr = 0 })
  raises("nn.sgd:", nn.sgd, { momentum = 1.5 })
  raises("momentum must be in [0, 1) (got 1.5)", nn.sgd, { momentum = 1.5 })
  raises("rho must be in [0, 1) (got 1)", nn.rmsprop, { rho = 1 })
  raises('nn.adam: unknown option "learningrate" (lr, learning_rate, momentum, nesterov, beta_1, beta_2, rho, epsilon)',
         nn.adam, { learningrate = 0.1 })
  raises("nn.adam: lr must be a number (got string)", nn.adam, { lr = "fast" })

  local a = nn.adam()
  assert(a.name == "adam", "nn.adam name")
  assert(a.lr == f32(1e-3) and a.beta_1 == f32(0.9) and a.beta_2 == f32(0.999) and a.epsilon == f32(1e-7),
         "nn.adam defaults (Keras)")
  local slow = nn.adam { lr = 1e-4 }
  assert(slow.lr == f32(1e-4), "nn.adam{lr = 1e-4}.lr: " .. tostring(slow.lr))
  assert(nn.adam { learning_rate = 0.05 }.lr == f32(0.05), "learning_rate is an alias of lr")
  local s = nn.sgd()
  assert(s.name == "sgd" and s.lr == f32(0.01) and s.momentum == 0 and s.nesterov == false, "nn.sgd defaults")
  local s2 = nn.sgd { lr = 0.1, momentum = 0.9, nesterov = true }
  assert(s2.lr == f32(0.1) and s2.momentum == f32(0.9) and s2.nesterov == true, "nn.sgd options")
  local r = nn.rmsprop()
  assert(r.name == "rmsprop" and r.lr == f32(1e-3) and r.rho == f32(0.9) and r.epsilon == f32(1e-7),
         "nn.rmsprop defaults")

  -- The learning rate reaches the model: Adam's first step moves every
  -- weight with a non-zero gradient by lr (m/sqrt(v) is +-1 after one step).
  for _, lr in ipairs { 1e-4, 1e-2 } do
    local m = new_model(5)
    m:compile { optimizer = nn.adam { lr = lr }, loss = SPARSE }
    assert(m.optimizer == "adam", "m.optimizer after nn.adam: " .. tostring(m.optimizer))
    m:build { 6, 6 }
    local before = all_weights(m)
    m:train_batch(ds:images(1, 32), ds:labels(1, 32))
    local after = all_weights(m)
    local biggest = 0
    for i = 1, #before do biggest = math.max(biggest, math.abs(after[i] - before[i])) end
    assert(biggest > 0.9 * lr and biggest < 1.01 * lr,
           "nn.adam{lr = " .. lr .. "}: the first step moved a weight by " .. biggest)
  end
  for _, spec in ipairs { nn.sgd { momentum = 0.9 }, nn.rmsprop { lr = 0.01 }, "sgd", "rmsprop" } do
    local m = new_model(5)
    m:compile { optimizer = spec, loss = SPARSE }
    assert(m.optimizer == (type(spec) == "string" and spec or spec.name), "m.optimizer: " .. tostring(m.optimizer))
  end
end

-- ---- compile -------------------------------------------------------------------
do
  local m = new_model(1)
  assert(m.compiled == false and m.loss == nil and m.optimizer == nil, "fresh model is not compiled")
  raises('m:compile: optimizer "adamw" unknown (adam, sgd, rmsprop)', m.compile, m,
         { optimizer = "adamw", loss = SPARSE })
  raises('m:compile: loss "crossentropy" unknown (sparse_categorical_crossentropy, categorical_crossentropy, '
         .. 'binary_crossentropy, mse)', m.compile, m, { optimizer = "adam", loss = "crossentropy" })
  raises('m:compile: unknown option "optimiser" (optimizer, loss, metrics, batch_size, data)', m.compile, m,
         { optimiser = "adam", loss = SPARSE })
  raises("m:compile: optimizer missing", m.compile, m, { loss = SPARSE })
  raises("m:compile: loss missing", m.compile, m, { optimizer = "adam" })
  raises('unknown option "logits" (from_logits)', m.compile, m,
         { optimizer = "adam", loss = { SPARSE, logits = true } })
  raises("m:compile: optimizer must be a name (adam, sgd, rmsprop) or made by nn.adam, nn.sgd, nn.rmsprop",
         m.compile, m, { optimizer = { lr = 0.1 }, loss = SPARSE })

  -- The forum post's tf.keras.metrics.Accuracy(): the message names the fit.
  local msg = raises('m:compile: metric "Accuracy"', m.compile, m,
                     { optimizer = "adam", loss = SPARSE, metrics = { "Accuracy" } })
  contains(msg, 'use "accuracy"', "metric Accuracy message")
  contains(msg, "sparse_categorical_accuracy", "metric Accuracy message")
  msg = raises('m:compile: metric "categorical_accuracy" does not fit sparse_categorical_crossentropy', m.compile, m,
               { optimizer = "adam", loss = SPARSE, metrics = { "categorical_accuracy" } })
  contains(msg, "sparse_categorical_accuracy", "categorical_accuracy with the sparse loss")
  raises('m:compile: metric "precision" unknown (accuracy)', m.compile, m,
         { optimizer = "adam", loss = SPARSE, metrics = { "precision" } })
  raises('m:compile: metrics is a list: metrics = { "accuracy" }', m.compile, m,
         { optimizer = "adam", loss = SPARSE, metrics = "accuracy" })
  raises("m:compile: batch_size must be an integer of at least 1 (got 0)", m.compile, m,
         { optimizer = "adam", loss = SPARSE, batch_size = 0 })
  assert(m.compiled == false, "a refused compile leaves the model uncompiled")

  -- Accepted names of accuracy, and what the fields show.
  for _, name in ipairs { "accuracy", "acc", "sparse_categorical_accuracy" } do
    local mm = new_model(1)
    mm:compile { optimizer = "adam", loss = SPARSE, metrics = { name } }
    same_list(mm.metrics, { "accuracy" }, "metrics after " .. name)
  end
  local n = select("#", m:compile { optimizer = "rmsprop", loss = SPARSE, batch_size = 16, data = ds })
  assert(n == 0, "compile returns nothing, as Keras's does (the shell shows nothing)")
  assert(m.compiled == true and m.loss == SPARSE and m.optimizer == "rmsprop", "fields after compile")
  assert(m.batch_size == 16, "m.batch_size: " .. tostring(m.batch_size))
  assert(m.data == ds, "m.data is the dataset given to compile")
  same_list(m.metrics, {}, "metrics without accuracy")
  assert(m.built == false and m.params == nil and m.input_shape == nil, "compile does not build")
  local step_logs = m:step()   -- the bound data, in batches of 16
  assert(step_logs.samples == 16, "m:step on compile's data and batch size: " .. tostring(step_logs.samples))
  assert(m.built == true, "training builds the model")
  same_list(m.input_shape, { 6, 6 }, "m.input_shape")

  local mse = new_model(1)
  mse:compile { optimizer = "adam", loss = "mean_squared_error" }
  assert(mse.loss == "mse", "mean_squared_error is mse: " .. tostring(mse.loss))
  local logits = new_model(1, "linear")
  logits:compile { optimizer = "adam", loss = { SPARSE, from_logits = true } }
  assert(logits.loss == SPARSE, "loss given as { name, from_logits = true }")
end

-- ---- option keys of training -------------------------------------------------------
do
  local m = compiled_model(2)
  raises('m:fit: unknown option "epoch" (epochs, batch_size, verbose, shuffle, on_batch_end, on_epoch_end, '
         .. 'validation_data)', m.fit, m, ds, { epoch = 5 })
  raises('m:epoch: unknown option "epochs"', m.epoch, m, ds, { epochs = 2 })
  raises('m:step: unknown option "validation_data"', m.step, m, 2, ds, { validation_data = ds })
  raises('m:evaluate: unknown option "verbose" (batch_size)', m.evaluate, m, ds, { verbose = 0 })
  raises("m:fit: the first argument must be a dataset", m.fit, m, { epochs = 1 })
  raises("m:fit: options must be a table such as { epochs = 5 } (got number)", m.fit, m, ds, 5)
  raises("m:fit: epochs must be an integer of at least 0 (got 1.5)", m.fit, m, ds, { epochs = 1.5 })
  raises("m:fit: verbose must be 0, 1 or 2 (got 3)", m.fit, m, ds, { verbose = 3 })
  raises("(the number of batches must be at least 1)", m.step, m, 0, ds)
  raises("m:evaluate: expected a dataset", m.evaluate, m, 5)
  assert(m.cursor.seen == 0 and m.built == false, "refused calls train nothing")
  -- A refused call binds no data either (fit's verbose = 3 is checked
  -- after its dataset is bound to the model).
  assert(m.data == nil, "a refused m:fit bound its dataset to the model")
  local fresh = compiled_model(2)
  raises("m:epoch: no training data: pass a dataset, e.g. m:epoch(train), or compile with data = train",
         fresh.epoch, fresh)
  raises("m:step: no training data", fresh.step, fresh, 1)
  fresh:step(1, ds, { verbose = 0 })
  assert(fresh.data == ds, "m:step binds its dataset")
  fresh:step(1)
  assert(fresh.cursor.seen == 64, "m:step() continues on the bound dataset")
end

-- ---- not compiled, not built, wrong shapes ---------------------------------------
do
  local m = new_model(3)
  local x = ds:images(1, 4)
  raises("m:predict: the model is not compiled", m.predict, m, x)
  raises("m:classify: the model is not compiled", m.classify, m, x)
  raises("m:evaluate: the model is not compiled", m.evaluate, m, ds)
  raises("m:train_batch: the model is not compiled", m.train_batch, m, x, { 0, 1, 2, 0 })
  raises("m:fit: the model is not compiled", m.fit, m, ds, { verbose = 0 })
  raises("m:step: the model is not compiled", m.step, m, 1, ds, { verbose = 0 })
  assert(m.cursor.seen == 0 and m.built == false, "an uncompiled model stays untouched")

  m:compile { optimizer = "adam", loss = SPARSE, metrics = { "accuracy" } }
  raises("m:evaluate: the model is not trained yet (not even built)", m.evaluate, m, ds)
  do
    -- Without bound data a lone sample cannot say what a sample is; a
    -- batch builds the model for its rows.
    local fresh = compiled_model(3)
    raises("m:predict: the model is not built yet", fresh.predict, fresh, ds[1]:reshape(36))
    assert(fresh.built == false, "a refused predict leaves the model unbuilt")
    local p = fresh:predict(ds:images(1, 2):reshape(2, 36))
    same_list(p.shape, { 2, 3 }, "predict on a batch builds the model")
    same_list(fresh.input_shape, { 36 }, "input shape from a batch")
  end
  raises("m:build: dimension 2 must be a positive integer (got 0)", m.build, m, { 6, 0 })
  raises("m:build: an input shape has 1 to 3 dimensions (got 4)", m.build, m, { 1, 2, 3, 4 })
  assert(select("#", m:build { 6, 6 }) == 0, "m:build returns nothing")
  raises("m:build: the model is already built", m.build, m, { 6, 6 })
  local m2 = compiled_model(3)
  m2:build(6, 6)
  same_list(m2.input_shape, { 6, 6 }, "m:build(6, 6) with numbers")
  assert(m.built and m.params == 36 * 8 + 8 + 8 * 3 + 3, "m.params after build: " .. tostring(m.params))

  local msg = raises("m:predict: input of shape 5x5 does not fit the model, which takes 6x6", m.predict, m,
                     tensor.zeros(5, 5))
  contains(msg, "Nx6x6", "wrong-shape message")
  raises("input of shape 4x5x5 does not fit the model, which takes 6x6", m.predict, m, tensor.zeros(4, 5, 5))
  raises("m:train_batch: input of shape 4x36 does not fit the model, which takes 6x6", m.train_batch, m,
         tensor.zeros(4, 36), { 0, 0, 0, 0 })
  raises("m:predict: expected a tensor (one sample, or a batch) or a dataset (got number)", m.predict, m, 3)

  -- A dataset of another sample shape names both shapes too.
  local base = os.tmpname()
  write(base .. "-i", string.pack(">I4I4I4I4", 0x803, 2, 4, 4) .. string.rep("\0", 32))
  write(base .. "-l", string.pack(">I4I4", 0x801, 2) .. "\0\1")
  local small = data.idx(base .. "-i", base .. "-l")
  os.remove(base .. "-i"); os.remove(base .. "-l"); os.remove(base)
  raises("m:predict: the data has samples of shape 4x4 but the model takes 6x6", m.predict, m, small)
  msg = raises("m:fit: the model takes samples of shape 6x6 (36 values) but the data has samples of shape 4x4",
               m.fit, m, small, { verbose = 0 })
  raises("m:evaluate:", m.evaluate, m, small)
  assert(m.cursor.seen == 0, "refused training trains nothing")
end

-- ---- labels beyond the output units --------------------------------------------------
do
  local function two_units()
    nn.seed(4)
    local m = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(2, "softmax") }
    m:compile { optimizer = "adam", loss = SPARSE, metrics = { "accuracy" } }
    return m
  end
  local expected = "labels go up to 2, which needs at least 3 output units, but the last layer has 2: "
                   .. "give the last dense layer at least 3 units (one per class)"

  -- An unbuilt model stays unbuilt.
  local m = two_units()
  raises("m:fit: " .. expected, m.fit, m, ds, { epochs = 1, verbose = 0 })
  assert(m.built == false, "a refused fit leaves an unbuilt model unbuilt")

  -- A built one keeps every weight, byte for byte.
  m:build { 6, 6 }
  local before = all_weights(m)
  raises("m:fit: " .. expected, m.fit, m, ds, { epochs = 1, verbose = 0 })
  raises("m:epoch: " .. expected, m.epoch, m, ds, { verbose = 0 })
  raises("m:step: " .. expected, m.step, m, 3, ds, { verbose = 0 })
  raises("m:train_batch: " .. expected, m.train_batch, m, ds:images(1, 3), { 0, 1, 2 })
  raises("m:train_batch: " .. expected, m.train_batch, m, ds:images(1, 3), tensor.from { 0, 1, 2 })
  raises("m:train_batch: label -1 (sample 2 of the batch) is negative", m.train_batch, m, ds:images(1, 3),
         { 0, -1, 1 })
  raises("m:train_batch: label 3 is 0.5, not an integer class label", m.train_batch, m, ds:images(1, 3), { 0, 1, 0.5 })
  raises("m:evaluate: " .. expected, m.evaluate, m, ds)
  local after = all_weights(m)
  same_list(after, before, "weights after refused training")
  assert(m.cursor.seen == 0 and m.cursor.epoch == 0 and m.cursor.batch == 0, "cursor after refused training")
  assert(#m.history == 0 and m.history.loss == nil, "history after refused training")

  -- One sigmoid unit with binary_crossentropy takes labels 0 and 1.
  nn.seed(4)
  local b = nn.sequential { nn.flatten(), nn.dense(1, "sigmoid") }
  b:compile { optimizer = "adam", loss = "binary_crossentropy" }
  raises("m:fit: labels go up to 2, but one output unit with binary_crossentropy takes labels 0 and 1: "
         .. "give the last dense layer 3 units (one per class) and use sparse_categorical_crossentropy",
         b.fit, b, ds, { verbose = 0 })
  assert(b.built == false and b.cursor.seen == 0, "refused binary training")

  -- Labels the units can name still train, and train_batch leaves the cursor alone.
  m:train_batch(ds:images(1, 2), ds:labels(1, 2))
  local moved = 0
  for i, v in ipairs(all_weights(m)) do if v ~= before[i] then moved = moved + 1 end end
  assert(moved > 0, "train_batch with labels 0 and 1 trains the 2-unit model")
  assert(m.cursor.seen == 0, "train_batch does not move the cursor")
end

-- ---- summary, params, layer fields -------------------------------------------------
local m = compiled_model(6)
do
  -- summary prints through print_fn (Keras's summary(print_fn=...)), and
  -- returns nothing, so the shell does not show the table twice.
  local lines = {}
  local function collect(line) lines[#lines + 1] = line end
  assert(select("#", m:summary(collect)) == 0, "summary returns nothing")
  local text = table.concat(lines, "\n")
  contains(text, "Not built yet", "summary before build")
  assert(m.params == nil, "m.params before build: " .. tostring(m.params))
  assert(m.units == 3, "m.units: " .. tostring(m.units))
  assert(#m.layers == 3, "#m.layers: " .. #m.layers)
  local l2 = m.layers[2]
  assert(l2.weights == nil and l2.bias == nil and l2.output == nil, "no weights before build")
  assert(l2.units == 8 and l2.params == 0 and l2.output_shape == nil, "dense fields before build")
  assert(m.layers[1].units == nil, "flatten units before build")

  m:build { 6, 6 }
  lines = {}
  m:summary(collect)
  text = table.concat(lines, "\n")
  for _, name in ipairs { "flatten (Flatten)", "dense (Dense)", "dense_1 (Dense)", "(None, 36)", "(None, 8)",
                          "(None, 3)", "Total params: 323", "296", "27" } do
    contains(text, name, "summary")
  end
  assert(m.params == 36 * 8 + 8 + 8 * 3 + 3, "m.params: " .. tostring(m.params))

  local names, kinds = {}, {}
  for i, layer in ipairs(m.layers) do
    names[i], kinds[i] = layer.name, layer.kind
    assert(layer.index == i, "layer.index " .. tostring(layer.index) .. " at " .. i)
  end
  same_list(names, { "flatten", "dense", "dense_1" }, "layer names")
  same_list(kinds, { "flatten", "dense", "dense" }, "layer kinds")
  local fl, d1, d2 = m.layers[1], m.layers[2], m.layers[3]
  assert(fl.params == 0 and fl.units == 36 and fl.activation == nil and fl.weights == nil, "flatten fields")
  same_list(fl.input_shape, { 6, 6 }, "flatten input_shape")
  same_list(fl.output_shape, { 36 }, "flatten output_shape")
  assert(d1.units == 8 and d1.activation == "relu" and d1.params == 296, "dense fields")
  assert(d2.units == 3 and d2.activation == "softmax" and d2.params == 27, "dense_1 fields")
  same_list(d1.input_shape, { 36 }, "dense input_shape")
  same_list(d2.output_shape, { 3 }, "dense_1 output_shape")
  same_list(d1.weights.shape, { 36, 8 }, "dense weights shape")
  same_list(d1.bias.shape, { 8 }, "dense bias shape")
  same_list(d2.weights.shape, { 8, 3 }, "dense_1 weights shape")
  assert(d1.rate == nil and d1.nonsense == nil, "unknown layer fields are nil")
  assert(tostring(d1) == "Layer dense: dense(8, relu), 296 params", "tostring(layer): " .. tostring(d1))
  assert(tostring(fl) == "Layer flatten: flatten", "tostring(flatten): " .. tostring(fl))

  -- Glorot uniform weights, zero bias.
  local limit = math.sqrt(6 / (36 + 8))
  local w = flat(d1.weights:totable())
  local spread = 0
  for _, v in ipairs(w) do
    assert(math.abs(v) <= limit, "glorot_uniform: " .. v .. " beyond " .. limit)
    spread = math.max(spread, math.abs(v))
  end
  assert(spread > limit / 2, "glorot_uniform weights span their range")
  for _, v in ipairs(flat(d1.bias:totable())) do assert(v == 0, "bias starts at zero") end

  -- Dropout layers: name, rate, no parameters.
  local dm = nn.sequential { nn.flatten(), nn.dense(4, "relu"), nn.dropout(0.5), nn.dropout(0.2), nn.dense(3) }
  dm:build { 6, 6 }
  local dn = {}
  for i, layer in ipairs(dm.layers) do dn[i] = layer.name end
  same_list(dn, { "flatten", "dense", "dropout", "dropout_1", "dense_1" }, "names with dropout")
  assert(dm.layers[3].rate == 0.5 and dm.layers[3].kind == "dropout" and dm.layers[3].params == 0,
         "dropout fields")
  assert(dm.layers[4].rate == f32(0.2), "dropout_1 rate")
  assert(dm.params == 36 * 4 + 4 + 4 * 3 + 3, "params with dropout: " .. tostring(dm.params))
  assert(dm.layers[5].activation == "linear", "dense default linear")

  -- Dropout acts only while training: predictions repeat, and a seeded
  -- run with dropout repeats bit for bit.
  local function dropout_model()
    nn.seed(31)
    local d = nn.sequential { nn.flatten(), nn.dense(16, "relu"), nn.dropout(0.5), nn.dense(3, "softmax") }
    d:compile { optimizer = "adam", loss = SPARSE }
    return d
  end
  local d1, d2 = dropout_model(), dropout_model()
  d1:fit(ds, { epochs = 2, verbose = 0 })
  d2:fit(ds, { epochs = 2, verbose = 0 })
  same_list(all_weights(d1), all_weights(d2), "same seed with dropout, same weights")
  same_list(d1:predict(ds[4]):totable(), d1:predict(ds[4]):totable(), "dropout is off in predict")
  -- While training, dropout zeroes some positive outputs of the layer
  -- before it and scales the rest by 1 / (1 - rate) (Keras's inverted dropout).
  local xb = ds:images(1, 32)
  d1:train_batch(xb, ds:labels(1, 32))
  local before_drop, after_drop = flat(d1.layers[2].output:totable()), flat(d1.layers[3].output:totable())
  local dropped, kept_scaled = 0, 0
  for i = 1, #before_drop do
    if before_drop[i] > 0 and after_drop[i] == 0 then dropped = dropped + 1 end
    if before_drop[i] > 0 and after_drop[i] ~= 0 then
      close(after_drop[i], before_drop[i] * 2, 1e-5, "kept units are scaled by 1 / (1 - rate)")
      kept_scaled = kept_scaled + 1
    end
  end
  assert(dropped > 0 and kept_scaled > 0, "dropout(0.5) zeroes some units while training: " .. dropped
         .. " dropped, " .. kept_scaled .. " kept")
  d1:predict(xb)
  same_list(flat(d1.layers[3].output:totable()), flat(d1.layers[2].output:totable()),
            "dropout passes its input through in predict")
end

-- ---- tostring(m) shows the cursor --------------------------------------------------------
do
  local s = tostring(m)
  contains(s, "flatten -> dense(8, relu) -> dense(3, softmax)", "tostring(m)")
  contains(s, "323 params", "tostring(m)")
  contains(s, "adam, sparse_categorical_crossentropy", "tostring(m)")
  contains(s, "not trained", "tostring(m) before training")
  m:step(3, ds, { verbose = 0, batch_size = 32 })
  contains(tostring(m), "in epoch 1 at batch 3/10, 96 samples seen", "tostring(m) after 3 steps")
  m:epoch { verbose = 0 }
  contains(tostring(m), "1 epoch done, 300 samples seen", "tostring(m) after an epoch")
  m:epoch { verbose = 0 }
  contains(tostring(m), "2 epochs done, 600 samples seen", "tostring(m) after two epochs")
  local fresh = new_model(1)
  contains(tostring(fresh), "not built; not compiled; not trained", "tostring of a fresh model")
end

-- ---- layer outputs are copies, weights are views ---------------------------------------------
do
  -- output: rows = the last batch. 300 = 9 * 32 + 12.
  local out = m.layers[3].output
  same_list(out.shape, { 12, 3 }, "output after an epoch (last batch of 12)")
  same_list(m.layers[2].output.shape, { 12, 8 }, "hidden output after an epoch")
  m:predict(ds:images(1, 5))
  local o5 = m.layers[3].output
  same_list(o5.shape, { 5, 3 }, "output after predicting 5")
  local p5 = m:predict(ds:images(1, 5))
  same_list(flat(o5:totable()), flat(p5:totable()), "last layer output = predict")
  o5:set(1, 1, 42)
  assert(m.layers[3].output:get(1, 1) ~= 42, "output is a copy, not a view")
  m:predict(ds[7])
  same_list(m.layers[3].output.shape, { 1, 3 }, "output after predicting one sample")

  -- weights: writing through the view changes predictions.
  local x = ds[1]
  local p_before = m:predict(x):totable()
  local w = m.layers[3].weights
  local saved = w:get(1, 1)
  w:set(1, 1, saved + 5)
  assert(m.layers[3].weights:get(1, 1) == f32(saved + 5), "weights is a view (read back)")
  local p_after = m:predict(x):totable()
  local changed = false
  for i = 1, 3 do changed = changed or p_after[i] ~= p_before[i] end
  assert(changed, "writing weights changes predictions")
  w:set(1, 1, saved)
  same_list(m:predict(x):totable(), p_before, "restoring the weight restores predictions")

  -- Zero every parameter: a softmax of equal outputs is 1/3 everywhere and
  -- the loss is log 3 (a hand-computed value through the views).
  local z = compiled_model(7)
  z:build { 6, 6 }
  for _, layer in ipairs(z.layers) do
    if layer.kind == "dense" then
      local lw, lb = layer.weights, layer.bias
      for r = 1, #lw do lw[r] = 0 end
      for i = 1, #lb do lb[i] = 0 end
    end
  end
  for _, v in ipairs(flat(z:predict(ds:images(1, 4)):totable())) do
    close(v, 1 / 3, 1e-6, "zero weights predict 1/3")
  end
  local loss, acc = z:evaluate(ds)
  close(loss, math.log(3), 1e-5, "loss with zero weights")
  -- Ties go to the first unit (NumPy's argmax): class 0 is a third of the data.
  close(acc, 1 / 3, 1e-9, "accuracy with zero weights")

  -- A view keeps its model alive.
  local view
  do
    local tmp = compiled_model(8)
    tmp:build { 6, 6 }
    tmp.layers[2].weights:set(2, 3, 0.625)
    view = tmp.layers[2].weights
  end
  collectgarbage()
  collectgarbage()
  assert(view:get(2, 3) == 0.625, "a weights view outlives the model variable")
  assert(#flat(view:totable()) == 288, "the view still reads all weights")
  local layer
  do
    local tmp = compiled_model(8)
    tmp:build { 6, 6 }
    layer = tmp.layers[3]
  end
  collectgarbage()
  collectgarbage()
  assert(layer.name == "dense_1" and layer.bias:get(1) == 0, "a layer keeps its model alive")
end

-- ---- predict and classify ------------------------------------------------------------------
do
  local tm = compiled_model(9, { optimizer = nn.adam { lr = 0.01 } })
  tm:fit(ds, { epochs = 5, verbose = 0 })

  local one = tm:predict(ds[1])
  assert(one:rank() == 1 and one.shape[1] == 3, "predict on one sample: rank-1 of units")
  local sum = one:sum()
  close(sum, 1, 1e-5, "softmax outputs sum to 1")
  local batch = tm:predict(ds:images(1, 10))
  same_list(batch.shape, { 10, 3 }, "predict on a batch")
  local all = tm:predict(ds)
  same_list(all.shape, { 300, 3 }, "predict on a dataset")
  -- The dataset goes through in batches of 256: the last is 300 - 256 = 44 rows.
  same_list(tm.layers[3].output.shape, { 44, 3 }, "output after predicting the dataset")
  -- The same samples in batches of another size: equal up to rounding (the
  -- matrix product's blocking depends on the batch size and the CPU's
  -- kernels; on AVX-512 they happen to agree bit for bit, on AVX2 not).
  local a, b = flat(all:slice(1, 10):totable()), flat(batch:totable())
  assert(#a == #b, "dataset and batch predictions: same count")
  for k = 1, #a do
    assert(math.abs(a[k] - b[k]) <= 1e-6 * math.max(1, math.abs(b[k])),
           "dataset and batch predictions agree at " .. k .. ": " .. a[k] .. " vs " .. b[k])
  end
  local one_img, one_label = ds:sample(1)
  same_list(tm:predict(one_img, one_label):totable(), one:totable(), "predict ignores an extra label")

  -- classify: the label, 0-based like the data, = argmax position - 1.
  local labels = ds:labels()
  local classes = tm:classify(ds)
  assert(type(classes) == "table" and #classes == 300, "classify on a dataset gives a sequence")
  local positions = all:argmax()
  local correct, seen = 0, {}
  for i = 1, 300 do
    assert(math.type(classes[i]) == "integer", "classify gives integers")
    assert(classes[i] == positions[i] - 1, "classify = argmax - 1 at " .. i)
    seen[classes[i]] = true
    if classes[i] == labels[i] then correct = correct + 1 end
  end
  assert(seen[0] and seen[1] and seen[2] and not seen[3], "classify names labels 0..2, never 1..3")
  assert(correct / 300 > 0.9, "the trained model classifies the fixture: " .. correct .. "/300")
  for i = 1, 6 do
    local c = tm:classify(ds[i])
    assert(math.type(c) == "integer", "classify(one) gives an integer")
    assert(c == tm:predict(ds[i]):argmax() - 1, "classify(one) = argmax(predict) - 1 at " .. i)
  end
  assert(tm:classify(ds[1]) == 0 and tm:classify(ds[2]) == 1 and tm:classify(ds[3]) == 2,
         "classify returns the label itself: samples 1..3 are classes 0, 1, 2")
  same_list(tm:classify(ds:images(1, 9)), { 0, 1, 2, 0, 1, 2, 0, 1, 2 }, "classify on a batch")
end

-- ---- seeds -----------------------------------------------------------------------------------
do
  assert(nn.seed == ember.seed, "nn.seed is ember.seed")
  local function weights_for(seed)
    local mm = new_model(seed)
    mm:build { 6, 6 }
    return all_weights(mm)
  end
  local a, b, c = weights_for(11), weights_for(11), weights_for(12)
  same_list(a, b, "same seed, same weights")
  local differ = 0
  for i = 1, #a do if a[i] ~= c[i] then differ = differ + 1 end end
  assert(differ > #a / 2, "another seed, other weights (" .. differ .. " of " .. #a .. " differ)")
  raises("bad argument #1 to", nn.seed, -1)

  -- Same seed, same training, bit for bit.
  local function trained(seed)
    local mm = compiled_model(seed)
    mm:fit(ds, { epochs = 2, verbose = 0 })
    return all_weights(mm), mm.history.loss
  end
  local wa, la = trained(13)
  local wb, lb = trained(13)
  same_list(wa, wb, "same seed, same trained weights")
  same_list(la, lb, "same seed, same losses")
end

-- ---- train_batch ---------------------------------------------------------------------------------
do
  local tb = compiled_model(14)
  local x = ds:images(1, 32)
  local y = ds:labels(1, 32)
  local r = table.pack(tb:train_batch(x, y))
  assert(r.n == 2, "train_batch returns loss and accuracy with metrics: " .. r.n .. " values")
  local loss, acc = r[1], r[2]
  assert(loss > 0 and loss < 5, "train_batch loss: " .. loss)
  assert(acc >= 0 and acc <= 1 and math.abs(acc * 32 - math.floor(acc * 32 + 0.5)) < 1e-9,
         "train_batch accuracy is a share of 32: " .. acc)
  assert(tb.built, "train_batch builds the model")
  same_list(tb.input_shape, { 6, 6 }, "input shape from train_batch")

  -- Labels as a tensor give the same step as a table.
  local t1, t2 = compiled_model(15), compiled_model(15)
  local l1, a1 = t1:train_batch(x, y)
  local l2, a2 = t2:train_batch(x, tensor.from(y))
  assert(l1 == l2 and a1 == a2, "labels as a table or a tensor: same loss and accuracy")
  same_list(all_weights(t1), all_weights(t2), "labels as a table or a tensor: same weights")

  -- Repeated steps on one batch lower its loss.
  local first = t1:train_batch(x, y)
  local last
  for _ = 1, 30 do last = t1:train_batch(x, y) end
  assert(last < first, "train_batch lowers the loss: " .. first .. " -> " .. last)

  -- A single sample takes a single label.
  local one_loss = t1:train_batch(ds[2], 1)
  assert(type(one_loss) == "number", "train_batch on one sample")

  raises("m:train_batch: 31 labels for 32 samples", tb.train_batch, tb, x, ds:labels(1, 31))
  raises("m:train_batch: 33 labels for 32 samples", tb.train_batch, tb, x, tensor.from(ds:labels(1, 33)))
  raises("m:train_batch: labels must be integers: a number, a table or a tensor (got string)", tb.train_batch,
         tb, x, "0")
  raises("bad argument #2 to '?' (ember.Tensor expected, got ember.Dataset)", tb.train_batch, tb, ds, y)

  -- categorical_crossentropy takes one-hot targets (a rows x units tensor)
  -- or integer labels, which it one-hot encodes: the same step both ways,
  -- and with a softmax output the same loss as the sparse form.
  local function categorical(seed)
    nn.seed(seed)
    local mm = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(3, "softmax") }
    mm:compile { optimizer = "adam", loss = "categorical_crossentropy", metrics = { "accuracy" } }
    return mm
  end
  local onehot = tensor.zeros(32, 3)
  for i = 1, 32 do onehot:set(i, y[i] + 1, 1) end
  local c1, c2, sp = categorical(17), categorical(17), compiled_model(17)
  local cl1, ca1 = c1:train_batch(x, onehot)
  local cl2, ca2 = c2:train_batch(x, y)
  local sl, sa = sp:train_batch(x, y)
  assert(cl1 == cl2 and ca1 == ca2, "categorical: one-hot targets and labels give the same loss")
  same_list(all_weights(c1), all_weights(c2), "categorical: one-hot targets and labels give the same step")
  close(cl1, sl, 1e-5, "categorical and sparse cross-entropy agree on a softmax output")
  assert(ca1 == sa, "categorical and sparse accuracy agree")
  local cw, sw = all_weights(c1), all_weights(sp)
  for i = 1, #cw do close(cw[i], sw[i], 1e-5, "categorical and sparse steps agree at " .. i) end

  -- Without metrics only the loss comes back.
  local nm = compiled_model(14, { metrics = false })
  assert(select("#", nm:train_batch(x, y)) == 1, "train_batch without metrics returns the loss alone")
end

-- ---- evaluate --------------------------------------------------------------------------------------
do
  local em = compiled_model(16, { optimizer = nn.adam { lr = 0.01 } })
  em:build { 6, 6 }
  local r = table.pack(em:evaluate(ds))
  assert(r.n == 2, "evaluate returns loss and accuracy with metrics")
  em:fit(ds, { epochs = 5, verbose = 0 })
  local loss, acc = em:evaluate(ds)
  assert(loss < r[1], "evaluate: loss falls with training (" .. r[1] .. " -> " .. loss .. ")")
  assert(acc > 0.9, "evaluate: accuracy after training " .. acc)
  -- Accuracy is the share of samples whose argmax is the label.
  local hits, labels = 0, ds:labels()
  for i, c in ipairs(em:classify(ds)) do if c == labels[i] then hits = hits + 1 end end
  close(acc, hits / 300, 1e-12, "evaluate accuracy = share classified right")
  -- And the loss is the mean of -log p(label) over the samples.
  local p_all, sum = em:predict(ds), 0
  for i = 1, 300 do sum = sum - math.log(p_all:get(i, labels[i] + 1)) end
  close(loss, sum / 300, 1e-5, "evaluate loss = mean -log p(label)")
  -- The batch size of evaluation changes nothing but rounding.
  local loss7, acc7 = em:evaluate(ds, { batch_size = 7 })
  close(loss7, loss, 1e-5, "evaluate with batch_size 7")
  assert(acc7 == acc, "evaluate accuracy does not depend on the batch size")
  -- evaluate does not train.
  local before = all_weights(em)
  local seen = em.cursor.seen
  em:evaluate(ds)
  same_list(all_weights(em), before, "evaluate leaves the weights")
  assert(em.cursor.seen == seen, "evaluate leaves the cursor")
  -- Evaluated loss is the mean of the per-sample losses: on a subset of 1
  -- it is -log p(label) of predict.
  local sub = ds:subset(5, 5)
  local p = em:predict(ds[5])
  close(em:evaluate(sub), -math.log(p[sub:label(1) + 1]), 1e-5, "evaluate on one sample = -log p")

  local nm = compiled_model(16, { metrics = false })
  nm:build { 6, 6 }
  assert(select("#", nm:evaluate(ds)) == 1, "evaluate without metrics returns the loss alone")
end

print("nn.lua: all passed")
