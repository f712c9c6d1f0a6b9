-- tests/lua/checkpoint.lua: m:save, nn.load, m:snapshot, m:restore, and
-- training that goes non-finite, through the real binary.
--
-- Run as `build/ember tests/lua/checkpoint.lua`; exit 0 passes. What it
-- proves, on its own small IDX files (300 samples of 6x6, three classes,
-- as tests/lua/nn.lua makes them):
--  - resuming is exact: 2 epochs, save, load in a NEW ember process, 3
--    more epochs there, save == 5 epochs straight here: every weight bit
--    for bit, the history, and the two files byte for byte (so also the
--    optimizer state, generator and cursor); the same with the save made
--    mid-epoch (after m:step(3));
--  - snapshot, train, restore, train the same way: identical; restoring
--    undoes a recompile with another learning rate; a snapshot restores
--    into a fresh model of the same layers, and is refused (the model
--    unchanged) by one of another architecture;
--  - a damaged, truncated, foreign or missing file raises with its own
--    message, and the variable that held a model still holds it, working;
--  - a save that fails (missing directory, a directory, a file size limit
--    in a child process) raises and leaves the old file byte-identical,
--    with no temporary file;
--  - SGD at lr 1e10 stops with the epoch, batch and layer named and the
--    model exactly as before that batch; a NaN input is named; a model
--    too large for memory is refused with the GB it needs.

local fixture = dofile((arg[0]:match("^(.*)/") or ".") .. "/fixture.lua")

-- ---- helpers -------------------------------------------------------------
local raises = fixture.raises

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local flat = fixture.flat

local all_weights = fixture.all_weights

-- Bit for bit: -0 and 0 differ, NaN equals NaN.
local function bits(x) return string.pack(math.type(x) == "integer" and "j" or "d", x) end

local function same_weights(a, b, what)
  local wa, wb = all_weights(a), all_weights(b)
  assert(#wa == #wb and #wa > 0, what .. ": " .. #wa .. " and " .. #wb .. " weights")
  for i = 1, #wa do
    assert(string.pack("f", wa[i]) == string.pack("f", wb[i]),
           what .. ": weight " .. i .. " differs (" .. wa[i] .. " vs " .. wb[i] .. ")")
  end
end

local function same_history(a, b, what)
  local keys = {}
  for k in pairs(a) do keys[#keys + 1] = k end
  for k in pairs(b) do assert(a[k], what .. ": history." .. k .. " only in the second") end
  assert(#keys > 0, what .. ": empty history")
  for _, k in ipairs(keys) do
    local la, lb = a[k], b[k]
    assert(lb and #la == #lb, what .. ": history." .. k .. " lengths differ")
    for i = 1, #la do
      assert(bits(la[i]) == bits(lb[i]), what .. ": history." .. k .. "[" .. i .. "] differs ("
             .. tostring(la[i]) .. " vs " .. tostring(lb[i]) .. ")")
    end
  end
end

local function same_cursor(a, b, what)
  for _, k in ipairs { "epoch", "batch", "batches", "seen" } do
    assert(a.cursor[k] == b.cursor[k], what .. ": cursor." .. k .. " " .. a.cursor[k] .. " vs " .. b.cursor[k])
  end
end

-- ---- fixture: 300 samples of 6x6, three classes (as tests/lua/nn.lua) ------
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. quote(dir)))

local function write_idx(count, classes)
  local images_path, labels_path = dir .. "/images-idx3-ubyte", dir .. "/labels-idx1-ubyte"
  local images, labels = fixture.idx_bytes(count, classes)
  write(images_path, images)
  write(labels_path, labels)
  return images_path, labels_path
end

local IMAGES, LABELS = write_idx(300, 3)
local ds = data.idx(IMAGES, LABELS)
assert(#ds == 300)

local SPARSE = "sparse_categorical_crossentropy"
local QUIET = { verbose = 0 }

local function new_model(seed, hidden)
  nn.seed(seed)
  local m = nn.sequential { nn.flatten(), nn.dense(hidden or 8, "relu"), nn.dropout(0.2), nn.dense(3, "softmax") }
  m:compile { optimizer = "adam", loss = SPARSE, metrics = { "accuracy" } }
  return m
end

-- Runs a Lua script in a new ember process; returns its output.
local function run_child(script)
  local path = dir .. "/child.lua"
  write(path, script)
  local p = io.popen(quote(arg[-1]) .. " " .. quote(path) .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  assert(ok, "child ember failed (" .. tostring(code) .. "):\n" .. out)
  return out
end

local function temp_files()
  local p = io.popen("ls -a " .. quote(dir))
  local list = p:read("a")
  p:close()
  local n = 0
  for name in list:gmatch("[^\n]+") do
    if name:find(".tmp.", 1, true) then n = n + 1 end
  end
  return n
end

-- ---- the reference: 5 epochs straight --------------------------------------
local straight = new_model(7)
for _ = 1, 5 do straight:epoch(ds, QUIET) end
local STRAIGHT = dir .. "/straight.ckpt"
assert(straight:save(STRAIGHT) == true)
assert(#straight.history.epoch == 5 and straight.history.epoch[5] == 5)

-- ---- resuming in a new process ---------------------------------------------
local function resume(first, then_epochs, what)
  local m = new_model(7)
  first(m)
  local saved = dir .. "/first.ckpt"
  local resumed = dir .. "/resumed.ckpt"
  m:save(saved)
  run_child(string.format([[
    local m = nn.load(%q)
    assert(m.data == nil, "the data is not in the file")
    assert(m.compiled and m.batch_size == 32 and m.metrics[1] == "accuracy")
    local ds = data.idx(%q, %q)
    for _ = 1, %d do m:epoch(ds, { verbose = 0 }) end
    assert(m:save(%q) == true)
  ]], saved, IMAGES, LABELS, then_epochs, resumed))
  local r = nn.load(resumed)
  same_weights(straight, r, what)
  same_history(straight.history, r.history, what)
  same_cursor(straight, r, what)
  assert(math.type(r.history.epoch[1]) == "integer", what .. ": epochs come back as integers")
  assert(read(resumed) == read(STRAIGHT), what .. ": the two files differ")
  assert(tostring(r) == tostring(straight), what .. ": " .. tostring(r))
end

resume(function(m) for _ = 1, 2 do m:epoch(ds, QUIET) end end, 3, "2 + 3 epochs")
resume(function(m)
  m:epoch(ds, QUIET)
  m:step(3, ds)
  assert(m.cursor.batch == 3 and m.cursor.epoch == 1)
end, 4, "1 epoch and 3 batches, then the rest")

-- A loaded model in this process continues the same way.
do
  local m = new_model(7)
  for _ = 1, 2 do m:epoch(ds, QUIET) end
  m:save(dir .. "/two.ckpt")
  local r = nn.load(dir .. "/two.ckpt")
  assert(r ~= m and r.data == nil)
  raises("m:epoch: no training data", r.epoch, r)
  for _ = 1, 3 do r:epoch(ds, QUIET) end
  same_weights(straight, r, "loaded here")
  same_history(straight.history, r.history, "loaded here")
  -- A model built but never compiled or trained round-trips as that.
  local plain = nn.sequential { nn.flatten(), nn.dense(3, "softmax") }
  plain:build { 6, 6 }
  plain:save(dir .. "/plain.ckpt")
  local p = nn.load(dir .. "/plain.ckpt")
  assert(p.built and not p.compiled and p.cursor.seen == 0)
  same_weights(plain, p, "built only")
  raises("m:save: the model is not built yet", nn.sequential { nn.dense(2) }.save,
         nn.sequential { nn.dense(2) }, dir .. "/x.ckpt")
end

-- ---- snapshots -------------------------------------------------------------
do
  local m = new_model(7)
  for _ = 1, 2 do m:epoch(ds, QUIET) end
  local s = m:snapshot()
  assert(tostring(s) == "snapshot: 2 epochs done, 600 samples seen", tostring(s))
  assert(s.epoch == 2 and s.batch == 0 and s.seen == 600 and s.bytes > 0)
  for _ = 1, 3 do m:epoch(ds, QUIET) end
  same_weights(straight, m, "before restoring")
  local after = m:snapshot()
  m:restore(s)
  assert(#m.history.epoch == 2, "the history goes back too")
  assert(m.cursor.epoch == 2 and m.cursor.seen == 600)
  for _ = 1, 3 do m:epoch(ds, QUIET) end
  same_weights(straight, m, "restored and trained again")
  same_history(straight.history, m.history, "restored and trained again")

  -- Try a higher learning rate, then rewind: the recompile is undone too.
  m:restore(s)
  m:compile { optimizer = nn.adam { lr = 0.05 }, loss = SPARSE, metrics = { "accuracy" } }
  m:epoch(ds, QUIET)
  m:restore(s)
  for _ = 1, 3 do m:epoch(ds, QUIET) end
  same_weights(straight, m, "rewound after another learning rate")
  m:save(dir .. "/rewound.ckpt")
  assert(read(dir .. "/rewound.ckpt") == read(STRAIGHT), "rewound: the files differ")

  -- Into a fresh model of the same layers (unbuilt, uncompiled).
  nn.seed(99)
  local fresh = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dropout(0.2), nn.dense(3, "softmax") }
  fresh:restore(after)
  same_weights(straight, fresh, "restored into a fresh model")
  assert(fresh.compiled and fresh.optimizer == "adam" and fresh.metrics[1] == "accuracy")

  -- Mid-epoch, and a model of another architecture.
  local mid = new_model(7)
  mid:epoch(ds, QUIET)
  mid:step(3, ds)
  local ms = mid:snapshot()
  assert(tostring(ms) == "snapshot: epoch 2, batch 3/10, 396 samples seen", tostring(ms))
  mid:step(5, ds)
  mid:restore(ms)
  for _ = 1, 4 do mid:epoch(ds, QUIET) end
  same_weights(straight, mid, "mid-epoch snapshot")

  local other = new_model(7, 4)
  other:build { 6, 6 }
  local before = all_weights(other)
  raises("m:restore: cannot restore the snapshot: it is of another architecture: layer 2 is dense(8, relu) "
         .. "there, dense(4, relu) in this model", other.restore, other, s)
  local now = all_weights(other)
  for i = 1, #before do assert(before[i] == now[i], "a refused restore changed a weight") end
  other:epoch(ds, QUIET)   -- still works
  raises("ember.Snapshot expected", m.restore, m, {})
  raises("m:snapshot: the model is not built yet", nn.sequential { nn.dense(2) }.snapshot,
         nn.sequential { nn.dense(2) })
end

-- ---- bad files -------------------------------------------------------------
do
  local good = read(STRAIGHT)
  local bad = dir .. "/bad.ckpt"
  local m = new_model(3)
  m:epoch(ds, QUIET)
  local held = m
  local function load_into_m(path)
    m = nn.load(path)
  end
  local function check_unchanged()
    assert(rawequal(m, held), "the variable lost its model")
    local loss = m:evaluate(ds)
    assert(loss == loss and loss > 0)
    m:step(1, ds)
  end

  write(bad, good:sub(1, 40) .. string.char(good:byte(41) ~ 1) .. good:sub(42))
  raises(bad .. ": section ARCH: CRC mismatch (stored 0x", load_into_m, bad)
  check_unchanged()
  write(bad, good:sub(1, #good // 2))
  raises("the file is truncated", load_into_m, bad)
  check_unchanged()
  write(bad, good:sub(1, -2))
  raises("section END: the file ends inside it", load_into_m, bad)
  check_unchanged()
  write(bad, good .. "x")
  raises("1 bytes follow the END section", load_into_m, bad)
  write(bad, "return os.exit(3)\n")
  raises("nn.load: " .. bad .. ": not an ember checkpoint", load_into_m, bad)
  write(bad, "EMBERCKP" .. string.pack("<I4", 99) .. good:sub(13))
  raises("checkpoint format version 99 is not supported", load_into_m, bad)
  raises("nn.load: cannot read '" .. dir .. "/none.ckpt': No such file or directory", load_into_m, dir .. "/none.ckpt")
  raises("Is a directory", load_into_m, dir)
  raises("bad argument #1 to 'nn.load' (string expected, got table)", nn.load, {})
  check_unchanged()
end

-- ---- saves that fail -------------------------------------------------------
do
  local m = new_model(5)
  m:epoch(ds, QUIET)
  local path = dir .. "/kept.ckpt"
  m:save(path)
  local old = read(path)
  raises("m:save: cannot write '" .. dir .. "/no/such/kept.ckpt': cannot create a file in '" .. dir
         .. "/no/such' (No such file or directory)", m.save, m, dir .. "/no/such/kept.ckpt")
  os.execute("mkdir " .. quote(dir .. "/adir"))
  raises("(Is a directory); the old file, if any, is unchanged", m.save, m, dir .. "/adir")
  -- A file size limit in a child: its save fails with EFBIG (SIGXFSZ is
  -- ignored, and an ignored signal stays ignored across exec).
  local script = dir .. "/limited.lua"
  write(script, string.format([[
    local m = nn.load(%q)
    m:epoch(data.idx(%q, %q), { verbose = 0 })
    local ok, err = pcall(m.save, m, %q)
    print(ok, err)
  ]], path, IMAGES, LABELS, path))
  local p = io.popen("sh -c " .. quote("trap '' XFSZ; ulimit -f 2; exec " .. quote(arg[-1]) .. " " .. quote(script))
                     .. " 2>&1")
  local out = p:read("a")
  p:close()
  assert(out:find("false", 1, true) and out:find("File too large", 1, true), "the limited save: " .. out)
  assert(read(path) == old, "a failed save changed the old file")
  assert(temp_files() == 0, "a temporary file was left")
end

-- ---- training that goes wrong ----------------------------------------------
do
  nn.seed(3)
  local m = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(3) }
  m:compile { optimizer = nn.sgd { lr = 1e10 }, loss = "mse", data = ds }
  m:build { 6, 6 }
  local ok, err, s
  for _ = 1, 200 do
    s = m:snapshot()
    ok, err = pcall(m.step, m, 1)
    if not ok then break end
  end
  assert(not ok, "lr 1e10 never went non-finite")
  err = tostring(err)
  assert(err:find("m:step: epoch %d+, batch %d+: layer %d+ %(dense%) produced"), err)
  assert(err:find("lower the learning rate (now 1e+10)", 1, true), err)
  assert(err:find("as they were before this batch", 1, true), err)
  -- Exactly as before the batch: the same bytes as the snapshot taken then.
  m:save(dir .. "/failed.ckpt")
  nn.seed(4)
  local twin = nn.sequential { nn.flatten(), nn.dense(8, "relu"), nn.dense(3) }
  twin:restore(s)
  twin:save(dir .. "/before.ckpt")
  assert(read(dir .. "/failed.ckpt") == read(dir .. "/before.ckpt"), "the refused batch changed the model")
  assert(m.cursor.batch == s.batch and m.cursor.seen == s.seen)

  -- A NaN in the input is named as such.
  local healthy = new_model(5)
  healthy:build { 6, 6 }
  local x = ds[1]
  x[2][3] = 0 / 0
  raises("m:train_batch: the input holds NaN (sample 1 of the batch)", healthy.train_batch, healthy, x, ds:label(1))

  -- Too large for memory: the GB it would need.
  local huge = nn.sequential { nn.flatten(), nn.dense(1e9) }
  raises("m:build: layer 2 (dense 1000000000) would need 784000000000 weights, 12544.0 GB of memory",
         huge.build, huge, { 28, 28 })
  local wide = nn.sequential { nn.flatten(), nn.dense(1e9, "softmax") }
  wide:compile { optimizer = "adam", loss = SPARSE }
  raises("GB of memory", wide.epoch, wide, ds, QUIET)
  assert(not wide.built)
end

os.execute("rm -rf " .. quote(dir))
print("checkpoint: all passed")
