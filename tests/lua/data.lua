-- tests/lua/data.lua: the `data` module and the Dataset userdata.
--
-- Run as `build/ember tests/lua/data.lua`; exit 0 passes. The script writes
-- its own small IDX files, so it needs no real dataset; the checks on the
-- real Fashion-MNIST run only when data.load finds it.

-- ---- tensor access (the only place that uses the tensor API) -----------
local function shape_of(t) return t.shape end
local function at(t, ...) return t:get(...) end

local fixture = dofile((arg[0]:match("^(.*)/") or ".") .. "/fixture.lua")

-- ---- helpers -------------------------------------------------------------
local function f32(x) return (string.unpack("f", string.pack("f", x))) end

local raises = fixture.raises

local same_list = fixture.same_list

local function same_shape(t, expected, what)
  same_list(shape_of(t), expected, what .. " shape")
end

-- ---- fixture: 10 samples of 4x3 ---------------------------------------------
local COUNT, ROWS, COLS = 10, 4, 3
local LABELS = {9, 0, 3, 3, 7, 0, 9, 1, 2, 3}

-- Pixel of sample i (1-based), row r, column c. Pixel (1, 1) differs in
-- every sample, so it identifies a sample after a shuffle.
local function pixel(i, r, c)
  if i == 1 and r == 1 and c == 1 then return 255 end
  if i == 1 and r == 1 and c == 2 then return 51 end
  return (i - 1) * 12 + (r - 1) * 3 + (c - 1)
end

local base = os.tmpname()
local images_path = base .. "-images-idx3-ubyte"
local labels_path = base .. "-labels-idx1-ubyte"
local short_labels_path = base .. "-short-labels-idx1-ubyte"

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

do
  local parts = {string.pack(">I4I4I4I4", 0x00000803, COUNT, ROWS, COLS)}
  for i = 1, COUNT do
    for r = 1, ROWS do
      for c = 1, COLS do parts[#parts + 1] = string.char(pixel(i, r, c)) end
    end
  end
  write(images_path, table.concat(parts))
  write(labels_path, string.pack(">I4I4", 0x00000801, COUNT) .. string.char(table.unpack(LABELS)))
  write(short_labels_path, string.pack(">I4I4", 0x00000801, COUNT - 1)
        .. string.char(table.unpack(LABELS, 1, COUNT - 1)))
end

-- Checks that image (a ROWS x COLS tensor) is sample i, scaled exactly as
-- float32(p / 255).
local function check_image(img, i, what)
  same_shape(img, {ROWS, COLS}, what)
  for r = 1, ROWS do
    for c = 1, COLS do
      local want = f32(pixel(i, r, c) / 255)
      assert(at(img, r, c) == want, what .. ": pixel " .. r .. "," .. c .. " is "
             .. at(img, r, c) .. ", expected " .. want)
    end
  end
end

-- Which fixture sample a batch row (or image) holds, by its pixel (1, 1).
local function sample_of(value)
  if value == f32(1.0) then return 1 end
  for i = 2, COUNT do
    if value == f32(pixel(i, 1, 1) / 255) then return i end
  end
  error("no sample has pixel (1,1) = " .. tostring(value))
end

-- ---- data.idx and fields -------------------------------------------------------
local ds = data.idx(images_path, labels_path, "fashion-mnist")
local plain = data.idx(images_path, labels_path)

assert(#ds == COUNT, "#ds is " .. #ds)
assert(ds.name == "fashion-mnist")
assert(plain.name == images_path:match("[^/]+$"), "unnamed dataset is called " .. plain.name)
assert(ds.split == nil and plain.split == nil)
same_list(ds.shape, {ROWS, COLS}, "ds.shape")
assert(ds.classes == 10, "classes " .. ds.classes)
assert(plain.classes == 10, "plain classes (max label + 1) " .. plain.classes)
assert(ds.max_label == 9)
assert(ds.class_names[0] == "T-shirt/top", "class_names is keyed by label")
assert(ds.class_names[9] == "Ankle boot")
assert(ds.class_names[10] == nil and #ds.class_names == 9)
assert(plain.class_names == nil)
assert(ds:class_name(0) == "T-shirt/top" and ds:class_name(7) == "Sneaker")
assert(ds:class_name(10) == nil and ds:class_name(-1) == nil)
assert(plain:class_name(0) == nil)
assert(ds.no_such_field == nil)
assert(type(ds.subset) == "function")
local mt = getmetatable(ds)
assert(mt.__name == "ember.Dataset")
assert(type(mt.__methods.batches) == "function")
raises("number has no integer representation", function() return ds:class_name(1.5) end)

-- ---- samples ------------------------------------------------------------------
for i = 1, COUNT do
  check_image(ds[i], i, "ds[" .. i .. "]")
  local img, label = ds:sample(i)
  check_image(img, i, "ds:sample(" .. i .. ")")
  assert(label == LABELS[i], "ds:sample(" .. i .. ") label " .. tostring(label))
  assert(math.type(label) == "integer")
  assert(ds:label(i) == LABELS[i], "ds:label(" .. i .. ")")
end
do
  local img = ds[1]
  assert(at(img, 1, 1) == 1.0, "255 reads as 1.0")
  assert(math.abs(at(img, 1, 2) - 0.2) < 1e-7, "51 reads as 0.2")
  assert(at(img, 2, 1) == f32(3 / 255))
  assert(not rawequal(ds[1], ds[1]), "each ds[i] is a new tensor")
  assert(ds[1.0] ~= nil, "an integral float index works")
end
raises("dataset: index 0 out of range (1..10)", function() return ds[0] end)
raises("dataset: index 11 out of range (1..10)", function() return ds[11] end)
raises("dataset: index -1 out of range (1..10)", function() return ds[-1] end)
raises("dataset: index must be an integer (got 1.5)", function() return ds[1.5] end)
assert(ds.x == nil and ds[true] == nil, "other keys are nil, as for any Lua value")
raises("bad argument #1 to 'sample' (index 0 out of range (1..10))",
       function() return ds:sample(0) end)
raises("bad argument #1 to 'label' (index 11 out of range (1..10))",
       function() return ds:label(11) end)
raises("bad argument #1 to 'sample' (number has no integer representation)",
       function() return ds:sample(1.5) end)
raises("bad argument #1 to 'label' (number expected, got no value)",
       function() return ds:label() end)

-- ---- tostring -------------------------------------------------------------------
assert(tostring(ds) == "Dataset fashion-mnist: 10 samples of 4x3, 10 classes", tostring(ds))

-- ---- images, labels, counts ---------------------------------------------------------
do
  local all = ds:images()
  same_shape(all, {COUNT, ROWS, COLS}, "ds:images()")
  local some = ds:images(2, 4)
  same_shape(some, {3, ROWS, COLS}, "ds:images(2, 4)")
  for k = 1, 3 do
    for r = 1, ROWS do
      for c = 1, COLS do
        assert(at(some, k, r, c) == f32(pixel(k + 1, r, c) / 255), "images(2, 4) value")
        assert(at(all, k + 1, r, c) == f32(pixel(k + 1, r, c) / 255), "images() value")
      end
    end
  end
  same_shape(ds:images(10), {1, ROWS, COLS}, "ds:images(10)")
  same_list(ds:labels(), LABELS, "ds:labels()")
  same_list(ds:labels(3, 5), {3, 3, 7}, "ds:labels(3, 5)")
  same_list(ds:labels(9), {2, 3}, "ds:labels(9)")
  raises("bad argument #1 to 'images' (first must be in 1..10, got 0)",
         function() return ds:images(0, 2) end)
  raises("bad argument #2 to 'labels' (last must be in 3..10, got 2)",
         function() return ds:labels(3, 2) end)
  raises("bad argument #2 to 'labels' (last must be in 3..10, got 11)",
         function() return ds:labels(3, 11) end)

  local counts = ds:counts()
  local want = {[0] = 2, 1, 1, 3, 0, 0, 0, 1, 0, 2}
  for label = 0, 9 do
    assert(counts[label] == want[label], "counts[" .. label .. "] is " .. tostring(counts[label]))
  end
  assert(counts[10] == nil)
end

-- ---- subsets -----------------------------------------------------------------------
do
  local sub = ds:subset(3, 7)
  assert(#sub == 5)
  for k = 1, 5 do
    local img, label = sub:sample(k)
    check_image(img, k + 2, "sub:sample(" .. k .. ")")
    check_image(sub[k], k + 2, "sub[" .. k .. "]")
    assert(label == LABELS[k + 2])
  end
  assert(tostring(sub) == "Dataset fashion-mnist [3..7]: 5 samples of 4x3, 10 classes",
         tostring(sub))
  assert(sub.max_label == 9 and sub.classes == 10 and sub.class_names[0] == "T-shirt/top")
  local inner = sub:subset(2, 3)
  same_list(inner:labels(), {3, 7}, "subset of a subset")
  assert(tostring(inner):find("[4..5]: 2 samples", 1, true), tostring(inner))
  assert(ds:subset(3, 3).max_label == 3, "a subset's max_label is its own")
  same_list(ds:subset(8):labels(), {1, 2, 3}, "subset(first) runs to the end")
  raises("dataset: index 6 out of range (1..5)", function() return sub[6] end)
  raises("bad argument #1 to 'subset' (first must be in 1..10, got 0)",
         function() return ds:subset(0, 5) end)
  raises("bad argument #1 to 'subset' (first must be in 1..10, got 11)",
         function() return ds:subset(11) end)
  raises("bad argument #2 to 'subset' (last must be in 5..10, got 11)",
         function() return ds:subset(5, 11) end)
  raises("bad argument #2 to 'subset' (last must be in 5..10, got 4)",
         function() return ds:subset(5, 4) end)
  raises("bad argument #1 to 'subset' (number expected, got no value)",
         function() return ds:subset() end)
  local bad = {subset = ds.subset}
  raises("calling 'subset' on bad self (ember.Dataset expected, got table)",
         function() return bad:subset(1, 2) end)

  -- The subset keeps its parent alive after the parent's last reference goes.
  local parent = data.idx(images_path, labels_path)
  local kept = parent:subset(2, 4)
  parent = nil
  collectgarbage()
  collectgarbage()
  local junk = {}
  for i = 1, 2000 do junk[i] = string.rep("x", 100 + i % 7) end
  junk = nil
  collectgarbage()
  for k = 1, 3 do
    local img, label = kept:sample(k)
    check_image(img, k + 1, "kept[" .. k .. "]")
    assert(label == LABELS[k + 1])
  end
end

-- ---- shuffle --------------------------------------------------------------------
do
  local a, b = ds:shuffle(7), ds:shuffle(7)
  assert(#a == COUNT)
  same_list(a:labels(), b:labels(), "same seed, same order")
  local seen, order = {}, {}
  for k = 1, COUNT do
    local img, label = a:sample(k)
    local i = sample_of(at(img, 1, 1))
    assert(not seen[i], "sample " .. i .. " twice")
    seen[i] = true
    order[k] = i
    check_image(img, i, "shuffled sample")
    assert(label == LABELS[i], "a shuffled sample keeps its label")
  end
  local identity = true
  for k = 1, COUNT do identity = identity and order[k] == k end
  assert(not identity, "shuffle(7) left the order unchanged")
  local different = false
  local c = ds:shuffle(8)
  for k = 1, COUNT do different = different or sample_of(at(c[k], 1, 1)) ~= order[k] end
  assert(different, "seeds 7 and 8 gave the same order")
  same_list(ds:labels(), LABELS, "ds is unchanged by shuffle")
  local sorted_a, sorted = a:labels(), ds:labels()
  table.sort(sorted_a)
  table.sort(sorted)
  same_list(sorted_a, sorted, "shuffle is a permutation")
  assert(#ds:shuffle() == COUNT, "shuffle without a seed")
  assert(tostring(a) == "Dataset fashion-mnist (shuffled): 10 samples of 4x3, 10 classes",
         tostring(a))
  local sub_shuffled = ds:subset(3, 7):shuffle(1)
  assert(#sub_shuffled == 5)
  local sl = sub_shuffled:labels()
  table.sort(sl)
  same_list(sl, {0, 3, 3, 7, 9}, "a shuffled subset has the subset's samples")
  raises("bad argument #1 to 'shuffle' (seed must be a non-negative integer, got -1)",
         function() return ds:shuffle(-1) end)
  raises("bad argument #1 to 'shuffle' (number expected, got string)",
         function() return ds:shuffle("x") end)

  -- ---- batches --------------------------------------------------------------------
  local sizes, firsts, first_x = {}, {}, nil
  local covered = {}
  for x, y, first in ds:batches(4) do
    local n = shape_of(x)[1]
    sizes[#sizes + 1] = n
    firsts[#firsts + 1] = first
    assert(#y == n, "y has one label per sample")
    same_shape(x, {n, ROWS, COLS}, "batch x")
    for k = 1, n do
      local i = first + k - 1
      assert(not covered[i], "sample " .. i .. " in two batches")
      covered[i] = true
      assert(y[k] == LABELS[i], "batch label")
      for r = 1, ROWS do
        for c2 = 1, COLS do assert(at(x, k, r, c2) == f32(pixel(i, r, c2) / 255), "batch pixel") end
      end
    end
    if not first_x then
      first_x = x
    else
      assert(not rawequal(x, first_x), "batch tensors are not reused")
    end
  end
  same_list(sizes, {4, 4, 2}, "batch sizes")
  same_list(firsts, {1, 5, 9}, "batch firsts")
  for i = 1, COUNT do assert(covered[i], "sample " .. i .. " in no batch") end
  assert(at(first_x, 1, 1, 1) == 1.0 and at(first_x, 4, 1, 1) == f32(pixel(4, 1, 1) / 255),
         "a kept batch tensor still holds its batch")

  local n = 0
  for x in ds:batches(32) do n = n + 1; same_shape(x, {COUNT, ROWS, COLS}, "one big batch") end
  assert(n == 1)

  -- Shuffled batches: every sample once; a seed repeats and matches ds:shuffle(seed).
  local function shuffled_order(opts)
    local out, labels = {}, {}
    for x, y, first in ds:batches(3, opts) do
      assert(first == #out + 1, "first counts in the iteration order")
      for k = 1, #y do
        out[#out + 1] = sample_of(at(x, k, 1, 1))
        labels[#labels + 1] = y[k]
        assert(y[k] == LABELS[out[#out]], "a shuffled batch keeps labels with their images")
      end
    end
    return out, labels
  end
  local o1 = shuffled_order({shuffle = true, seed = 7})
  local o2 = shuffled_order({seed = 7})
  same_list(o1, o2, "seeded batches repeat")
  same_list(o1, order, "batches {seed = 7} follow ds:shuffle(7)")
  local o3 = shuffled_order({shuffle = true})
  table.sort(o3)
  same_list(o3, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "unseeded shuffled batches cover every sample")
  local o4 = shuffled_order({shuffle = false, seed = 7})
  same_list(o4, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "shuffle = false wins over a seed")

  raises("bad argument #1 to 'batches' (size must be a positive integer, got 0)",
         function() return ds:batches(0) end)
  raises("bad argument #1 to 'batches' (number expected, got no value)",
         function() return ds:batches() end)
  raises("bad argument #2 to 'batches' (unknown option shufle (shuffle, seed))",
         function() return ds:batches(4, {shufle = true}) end)
  raises("bad argument #2 to 'batches' (shuffle must be true or false, got number)",
         function() return ds:batches(4, {shuffle = 1}) end)
  raises("bad argument #2 to 'batches' (seed must be a non-negative integer, got -1)",
         function() return ds:batches(4, {seed = -1}) end)
  raises("bad argument #2 to 'batches' (table expected, got number)",
         function() return ds:batches(4, 5) end)
end

-- ---- load errors ------------------------------------------------------------------
raises("data.idx: ", function() return data.idx(images_path, short_labels_path) end)
raises("must hold the same samples", function() return data.idx(images_path, short_labels_path) end)
raises("data.idx: " .. base .. "-missing",
       function() return data.idx(base .. "-missing", labels_path) end)
raises("bad argument #2 to 'idx' (string expected, got no value)",
       function() return data.idx(images_path) end)
raises("data.load: unknown dataset \"nope\"", function() return data.load("nope") end)
raises("bad argument #1 to 'load' (string expected, got no value)",
       function() return data.load() end)

os.remove(images_path)
os.remove(labels_path)
os.remove(short_labels_path)
os.remove(base)

-- ---- the real Fashion-MNIST, when installed ----------------------------------------
local ok, train, test = pcall(data.load, "fashion-mnist")
if not ok then
  assert(tostring(train):find("not found", 1, true), "data.load failed: " .. tostring(train))
  assert(tostring(train):find("apt-get install dataset-fashion-mnist", 1, true), tostring(train))
  print("data.lua: Fashion-MNIST not installed, real-data checks skipped")
else
  assert(#train == 60000 and #test == 10000)
  assert(train.split == "train" and test.split == "test" and train.name == "fashion-mnist")
  same_list(train.shape, {28, 28}, "real shape")
  local img, label = train:sample(1)
  same_shape(img, {28, 28}, "train[1]")
  assert(label == 9 and train:class_name(label) == "Ankle boot", "train[1] is an ankle boot")
  assert(train.class_names[0] == "T-shirt/top")
  assert(test:label(1) == 9 and select(2, test:sample(1)) == 9)
  same_shape(test[61], {28, 28}, "test[61]")
  local counts = train:counts()
  for c = 0, 9 do assert(counts[c] == 6000, "train has 6000 of class " .. c) end
  assert(tostring(train) == "Dataset fashion-mnist (train): 60000 samples of 28x28, 10 classes",
         tostring(train))
  local sub = test:subset(1, 2000)
  assert(tostring(sub) == "Dataset fashion-mnist (test) [1..2000]: 2000 samples of 28x28, 10 classes",
         tostring(sub))
end

print("data.lua: ok")
