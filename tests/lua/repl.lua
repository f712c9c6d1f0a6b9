-- tests/lua/repl.lua: the Lua side of the shell (lua/repl.lua): how values
-- print (ember.format, ember.show), tab completion (ember.complete), the
-- shell commands (ember.commands) and the banner.
--
-- Run as `build/ember tests/lua/repl.lua`; exit 0 passes. Output is caught
-- by replacing ember.out, which everything in lua/repl.lua writes through.
-- The script keeps to locals until the :who checks, which look at globals.

-- ---- helpers -------------------------------------------------------------
local function eq(got, want, what)
  assert(got == want, what .. ":\n  got:  " .. tostring(got) .. "\n  want: " .. tostring(want))
end

local function contains(s, text, what)
  assert(string.find(s, text, 1, true), what .. ": lacks \"" .. text .. "\" in:\n" .. s)
end

local function lacks(s, text, what)
  assert(not string.find(s, text, 1, true), what .. ": has \"" .. text .. "\" in:\n" .. s)
end

local function same_list(got, want, what)
  local text = table.concat(got, " ")
  assert(#got == #want, what .. ": got {" .. text .. "}, want {" .. table.concat(want, " ") .. "}")
  for i = 1, #want do
    assert(got[i] == want[i], what .. ": item " .. i .. " is " .. tostring(got[i]) .. ", want " .. want[i])
  end
end

local function has_item(list, item, what)
  for _, v in ipairs(list) do if v == item then return end end
  error(what .. ": " .. item .. " missing from {" .. table.concat(list, " ") .. "}", 2)
end

-- Runs f with ember.out collected (and print and io.write too when
-- also_print, for help(), which prints directly); returns the text
-- written, or raises f's error.
local function capture(also_print, f, ...)
  local parts = {}
  local function keep(s) parts[#parts + 1] = s end
  local saved_out, saved_print, saved_write = ember.out, print, io.write
  ember.out = keep
  if also_print then
    print = function(...)
      local args = table.pack(...)
      for i = 1, args.n do args[i] = tostring(args[i]) end
      keep(table.concat(args, "\t", 1, args.n) .. "\n")
    end
    io.write = function(...) for _, s in ipairs({ ... }) do keep(tostring(s)) end end
  end
  local ok, err = pcall(f, ...)
  ember.out, print, io.write = saved_out, saved_print, saved_write
  if not ok then error(err, 0) end
  return table.concat(parts)
end

local function captured(f, ...) return capture(false, f, ...) end
local function printed(f, ...) return capture(true, f, ...) end

local function write_file(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

-- A dataset of two 4x4 samples, labels 0 and 1, from files the test writes.
local function small_dataset()
  local base = os.tmpname()
  write_file(base .. "-i", string.pack(">I4I4I4I4", 0x803, 2, 4, 4) .. string.rep("\0", 32))
  write_file(base .. "-l", string.pack(">I4I4", 0x801, 2) .. "\0\1")
  local ds = data.idx(base .. "-i", base .. "-l")
  os.remove(base .. "-i"); os.remove(base .. "-l"); os.remove(base)
  return ds
end

-- Plain text whatever the terminal: tests that want colour turn it on.
local saved_color = ember.color
ember.color = false
local F = ember.format

-- ---- format: scalars, strings, functions ---------------------------------
eq(F(nil), "nil", "nil")
eq(F(true), "true", "boolean")
eq(F(42), "42", "integer")
eq(F(1.5), "1.5", "float")
eq(F("hi"), '"hi"', "a string is quoted")
eq(F('a\nb"c\\d\0e\27'), '"a\\nb\\"c\\\\d\\0e\\27"', "escapes, on one line")
eq(F(print), "function: builtin", "a C function")
local sample = load("local x = 1\nreturn function() return x end", "@sample.lua")()
eq(F(sample), "function (sample.lua:2)", "a Lua function names its source")
contains(F(coroutine.create(print)), "thread: ", "a thread")

-- ---- format: tables ------------------------------------------------------
eq(F({}), "{}", "empty table")
eq(F({ 1, 2, 3 }), "{1, 2, 3}", "a sequence")
eq(F({ b = 2, a = 1, [2] = "two", [1] = "one", [10] = 10, [1.5] = 0 }),
   '{"one", "two", [1.5] = 0, [10] = 10, a = 1, b = 2}', "sequence first, then numbers, then strings")
eq(F({ zeta = 1, alpha = 2, Beta = 3 }), "{Beta = 3, alpha = 2, zeta = 1}", "strings sorted")
eq(F({ ["a b"] = 1, ["end"] = 2, [true] = 3 }), '{["a b"] = 1, ["end"] = 2, [true] = 3}',
   "keys that are not names are bracketed; other types last")
eq(F({ 1, nil, 3 }), "{1, [3] = 3}", "a hole ends the sequence")
eq(F({ s = "x y", t = { "a" } }), '{s = "x y", t = {"a"}}', "nested strings quoted")
eq(F({ a = { b = { c = { d = 1 } } } }), "{a = {b = {c = {...}}}}", "depth bounded at 3")
eq(F({ a = { b = { c = {} } } }), "{a = {b = {c = {}}}}", "an empty table past the bound hides nothing")

local wide = {}
for i = 1, 25 do wide[i] = i end
eq(F(wide), "{\n  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,\n"
            .. "  ... (5 more)\n}", "width bounded at 20, a long list packed")
local keyed = {}
for i = 1, 22 do keyed[string.format("k%02d", i)] = i end
local text = F(keyed)
contains(text, "  k20 = 20,\n  ... (2 more)\n}", "keyed entries one a line, then the marker")
lacks(text, "k21", "entries past the bound")
eq(select(2, text:gsub("\n", "")), 22, "brace, 20 entries, marker, brace: 22 newlines")

local cycle = { name = "c" }
cycle.self = cycle
cycle[1] = { back = cycle }
eq(F(cycle), '{{back = <cycle>}, name = "c", self = <cycle>}', "cycles marked")
local shared = { 1 }
eq(F({ a = shared, b = shared }), "{a = {1}, b = {1}}", "a table seen twice is not a cycle")

local long = string.rep("x", 100)
eq(F({ long }), '{\n  "' .. string.rep("x", 80) .. '"... (100 bytes)\n}', "long strings cut inside tables")
eq(F(long), '"' .. long .. '"', "but shown whole on their own")

-- ---- format: ember objects and __tostring --------------------------------
local m = nn.sequential { nn.dense(2) }
eq(F(m), tostring(m), "a model is its tostring")
assert(not tostring(m):find("\n"), "a model's tostring is one line")
local layer = m.layers[1]
eq(F(layer), tostring(layer), "a layer is its tostring")
local t = tensor.from({ { 1, 2 }, { 3, 4 } })
eq(F(t), tostring(t), "a tensor is its tostring, all lines")
local ds = small_dataset()
eq(F(ds), tostring(ds), "a dataset is its tostring")

local trained = nn.sequential { nn.flatten(), nn.dense(2, "softmax") }
trained:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = { "accuracy" } }
local history = trained:fit(ds, { epochs = 2, verbose = 0 })
eq(F(history), tostring(history), "a history is its tostring")
contains(F(history), "epoch  loss  accuracy", "the history's table")

eq(F({ t = t }), "{t = tensor(2x2) ...}", "inside a table, the first line of a multi-line tostring")
eq(F({ layer }), "{" .. tostring(layer) .. "}", "a one-line tostring whole")
eq(F({ h = history }), "{h = history(2 epochs)}", "a history inside a table counts its epochs")

local broken = setmetatable({}, { __name = "ember.Broken", __tostring = function() error("no luck", 0) end })
eq(F(broken), "<ember.Broken: tostring failed: no luck>", "a failing __tostring")
eq(F({ broken }), "{<ember.Broken: tostring failed: no luck>}", "a failing __tostring inside a table")
local bad_type = setmetatable({}, { __tostring = function() return {} end })
contains(F(bad_type), "<table: tostring failed: ", "a __tostring that returns no string")

-- ---- format: colour ------------------------------------------------------
ember.color = true
local coloured = F({ n = 1, s = "a" })
ember.color = false
contains(coloured, "\27[33m1\27[0m", "numbers coloured")
contains(coloured, '\27[32m"a"\27[0m', "strings coloured")
contains(coloured, "\27[34mn\27[0m", "keys coloured")
eq(coloured:gsub("\27%[[%d;]*m", ""), '{n = 1, s = "a"}', "the same text under the colour")
lacks(F({ n = 1 }), "\27", "no escape codes without colour")

-- ---- show ----------------------------------------------------------------
eq(captured(ember.show, 1, "a", nil, { 2 }), '1\t"a"\tnil\t{2}\n', "values tab-separated, one line")
eq(captured(ember.show, nil), "nil\n", "a nil value shows")
eq(captured(ember.show), "", "no values, no output")
eq(captured(ember.show, m), tostring(m) .. "\n", "a model shows its tostring")

-- ---- complete: globals, keywords, commands, files ------------------------
local C = ember.complete
same_list(C("whi"), { "while" }, "a keyword")
same_list(C("pri"), { "print(" }, "a global function gets (")
same_list(C("tens"), { "tensor" }, "a global table does not")
local words = C("f")
has_item(words, "for", "keywords and globals together")
has_item(words, "function", "keywords and globals together")
for i, w in ipairs(words) do
  assert(w:sub(1, 1) == "f", "every word keeps the prefix: " .. w)
  assert(i == 1 or words[i - 1] < w, "sorted and unique: " .. tostring(words[i - 1]) .. " then " .. w)
end
has_item(C(""), "nn", "an empty word lists the globals")
same_list(C(":ti"), { ":time" }, "a command")
same_list(C(":"), { ":help", ":load", ":quit", ":reset", ":time", ":who" }, "every command")
assert(C('"data/tr').files == true, "a word in a string completes file names")
assert(C("'x").files == true, "single quotes too")

-- ---- complete: fields and methods ----------------------------------------
local fixture = { alpha = 1, alpha_fn = function() end, beta = { gamma = { delta = 1 } },
                  ["not a name"] = 1, ["end"] = 2, [1] = { inner = true } }
rawset(_G, "fixture", fixture)
same_list(C("fixture.al"), { "fixture.alpha", "fixture.alpha_fn(" }, "fields; a function gets (")
same_list(C("fixture:al"), { "fixture:alpha_fn(" }, "after : only functions")
same_list(C("fixture.beta.gamma.d"), { "fixture.beta.gamma.delta" }, "nested fields")
same_list(C("fixture[1].in"), { "fixture[1].inner" }, "an integer index")
same_list(C('fixture["beta"].ga'), { 'fixture["beta"].gamma' }, "a quoted index")
same_list(C("fixture."), { "fixture.alpha", "fixture.alpha_fn(", "fixture.beta" },
          "keys that are not names (or are keywords) are skipped")
same_list(C("string.up"), { "string.upper(" }, "a library function")

local text_value = "abc"
rawset(_G, "text_value", text_value)
same_list(C("text_value:up"), { "text_value:upper(" }, "string methods after :")

rawset(_G, "m", m)
same_list(C("m:ev"), { "m:evaluate(" }, "a model method")
same_list(C("m:su"), { "m:summary(" }, "a method lua/model.lua added")
same_list(C("m.la"), { "m.layers" }, "a model field")
has_item(C("m."), "m.cursor", "model fields")
has_item(C("m."), "m.fit(", "and methods")
same_list(C("m.layers[1].ac"), { "m.layers[1].activation" }, "a layer of a model")
same_list(C("m.layers[1].out"), { "m.layers[1].output", "m.layers[1].output_shape" }, "layer fields")
same_list(C("m.layers[1]:ac"), {}, "a layer has no methods")

rawset(_G, "ds", ds)
same_list(C("ds:sub"), { "ds:subset(" }, "a dataset method")
same_list(C("ds.cla"), { "ds.class_name(", "ds.class_names", "ds.classes" }, "dataset methods and fields")
same_list(C("ds[1]:arg"), { "ds[1]:argmax(", "ds[1]:argmin(" }, "a sample of a dataset is a tensor")
rawset(_G, "t", t)
same_list(C("t:arg"), { "t:argmax(", "t:argmin(" }, "tensor methods")
same_list(C("t.sh"), { "t.shape" }, "a tensor field")
same_list(C("t:sh"), {}, "a field is no method")

local chained = setmetatable({ own = 1 }, { __index = { inherited = function() end } })
rawset(_G, "chained", chained)
same_list(C("chained."), { "chained.inherited(", "chained.own" }, "an __index table is followed")

-- ---- complete: bad input, and no user code runs --------------------------
same_list(C("nosuch.x"), {}, "an unknown global")
same_list(C("m.layers[99].ac"), {}, "an index out of range")
same_list(C("m:evaluate().x"), {}, "a call is never made")
same_list(C("1.5"), {}, "a number")
same_list(C("fixture.alpha.x"), {}, "a field of a number")
same_list(C("a..b"), {}, "not a path")
same_list(C("if.x"), {}, "a keyword is no value")
same_list(C(nil), {}, "no word at all")

local touched = false
local function touch() touched = true end
local guarded = setmetatable({ real = {} }, { __index = function() touch() return {} end,
                                              __pairs = function() touch() return next, {} end,
                                              __len = function() touch() return 0 end })
rawset(_G, "guarded", guarded)
same_list(C("guarded.ma"), {}, "fields an __index function would give are not offered")
same_list(C("guarded.missing.x"), {}, "no step through an __index function")
same_list(C("guarded.re"), { "guarded.real" }, "raw fields still are")
local guarded_mt = setmetatable({}, { __index = function() touch() end })
local sneaky = setmetatable({}, guarded_mt)   -- the metatable's own __index is a function too
rawset(_G, "sneaky", sneaky)
same_list(C("sneaky.x"), {}, "nothing offered")
local gm = setmetatable({}, { __index = function() touch() return function() end end })
rawset(_G, "gm", gm)
same_list(C("gm:ev"), {}, "no method from an __index function")
assert(not touched, "completion ran a user function")

for _, name in ipairs({ "fixture", "text_value", "m", "ds", "t", "chained", "guarded", "sneaky", "gm" }) do
  rawset(_G, name, nil)
end

-- ---- commands ------------------------------------------------------------
local commands = ember.commands
assert(commands.quit.run == nil and commands.reset.run == nil, ":quit and :reset are the C side's")
for _, name in ipairs({ "help", "time", "load", "who", "quit", "reset" }) do
  assert(type(commands[name].help) == "string" and #commands[name].help > 10, name .. " has help")
end

-- :help
local shell_help = captured(commands.help.run, "")
for _, text in ipairs({ ":time", ":load", ":who", ":quit", ":reset", ":help", "Ctrl-C", "Ctrl-D",
                        "help()", commands.who.help }) do
  contains(shell_help, text, ":help")
end
contains(printed(commands.help.run, " tensor "), "t:argmax()", ":help tensor calls help")
rawset(_G, "model_for_help", m)
contains(printed(commands.help.run, "model_for_help"), "m:fit(", ":help on an object's name")
rawset(_G, "model_for_help", nil)

-- :time
local timed = captured(commands.time.run, "1 + 1")
assert(timed:match("^2\nwall %d+%.%d%d%d s, cpu %d+%.%d%d%d s\n$"), ":time an expression: " .. timed)
timed = captured(commands.time.run, "  return 'a', 3 ")
assert(timed:match('^"a"\t3\nwall [%d.]+ s, cpu [%d.]+ s\n$'), ":time a return: " .. timed)
timed = captured(commands.time.run, "local s = 0 for i = 1, 3e6 do s = s + i end")
local wall, cpu = timed:match("^wall ([%d.]+) s, cpu ([%d.]+) s\n$")
assert(wall, ":time a statement prints only the timing: " .. timed)
assert(tonumber(wall) > 0 and tonumber(cpu) > 0, "a loop takes time: " .. timed)
local ok, err = pcall(commands.time.run, "error('boom', 0)")
assert(not ok and err == "boom", ":time raises the statement's error: " .. tostring(err))
ok, err = pcall(commands.time.run, "x = = 1")
assert(not ok and err:find("unexpected symbol", 1, true), ":time a syntax error: " .. tostring(err))
ok, err = pcall(commands.time.run, "")
assert(not ok and err:find("usage: :time", 1, true), ":time alone: " .. tostring(err))

-- :who: nothing of the user's yet (this script used only locals and
-- removed the globals the completion tests set)
eq(captured(commands.who.run, ""), "no globals defined yet\n", ":who at first")
rawset(_G, "my_model", m)
rawset(_G, "my_table", { 1, 2, x = 3 })
rawset(_G, "my_number", 7)
rawset(_G, "my_function", sample)
rawset(_G, "seed", function() end)   -- a built-in replaced
local who = captured(commands.who.run, "")
local lines = {}
for line in who:gmatch("[^\n]+") do lines[#lines + 1] = line end
eq(#lines, 5, ":who lines:\n" .. who)
eq(lines[1], "my_function  function (sample.lua:2)", ":who a function")
eq(lines[2], "my_model     " .. tostring(m), ":who a model")
eq(lines[3], "my_number    number, 7", ":who a number")
eq(lines[4], "my_table     table, 3 entries", ":who a table")
contains(lines[5], "(replaces a built-in)", ":who a replaced built-in")
for _, builtin in ipairs({ "print", "nn", "tensor", "help", "ember", "arg", "string" }) do
  lacks(who, "\n" .. builtin .. " ", ":who built-ins")
  assert(who:sub(1, #builtin + 1) ~= builtin .. " ", ":who built-ins: " .. builtin)
end
rawset(_G, "my_long", string.rep("y", 200))
local long_text = captured(commands.who.run, ""):match("my_long +([^\n]*)")
assert(#long_text <= 70 and long_text:find('^string, "yyy.*%.%.%.$'), ":who cuts long descriptions: " .. long_text)
for _, name in ipairs({ "my_model", "my_table", "my_number", "my_function", "my_long" }) do
  rawset(_G, name, nil)
end
rawset(_G, "seed", ember.seed)

-- :load
local path = os.tmpname()
write_file(path, "loaded_value = (loaded_value or 0) + 42\n")
eq(captured(commands.load.run, "  " .. path .. "  "), "", ":load prints nothing itself")
eq(rawget(_G, "loaded_value"), 42, ":load ran the file, its globals stay")
commands.load.run(' "' .. path .. '" ')
eq(rawget(_G, "loaded_value"), 84, ":load with a quoted path")
commands.load.run("'" .. path .. "'")
eq(rawget(_G, "loaded_value"), 126, ":load with single quotes")
os.remove(path)
rawset(_G, "loaded_value", nil)
ok, err = pcall(commands.load.run, path)
assert(not ok and err:find(path, 1, true), ":load a missing file names it: " .. tostring(err))
ok, err = pcall(commands.load.run, "   ")
assert(not ok and err:find("usage: :load", 1, true), ":load alone: " .. tostring(err))

-- ---- banner --------------------------------------------------------------
local first = "ember " .. ember.version .. " - " .. _VERSION .. " - " .. ember.blas .. ", "
              .. ember.threads() .. (ember.threads() == 1 and " thread" or " threads")
local hint = "help() for the API, :help for the shell, Ctrl-D to quit"
eq(ember.banner("/usr/share/datasets/fashion-mnist"),
   first .. "\nFashion-MNIST: /usr/share/datasets/fashion-mnist\n" .. hint, "banner, data found")
eq(ember.banner(nil),
   first .. "\nFashion-MNIST not found: sudo apt-get install dataset-fashion-mnist\n" .. hint,
   "banner, data not found")
assert(not ember.banner(nil):find("[\128-\255]"), "ASCII without colour")
ember.color = true
contains(ember.banner(nil), "ember " .. ember.version .. " · Lua", "a middle dot with colour")
ember.color = saved_color

print("repl: all tests passed")
