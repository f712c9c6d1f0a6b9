-- lua/repl.lua: the Lua side of the interactive shell (src/repl/ is the C
-- side: Readline, history, Ctrl-C, continuation lines, piped mode).
--
-- The C shell calls into the `ember` table; these names are its contract:
--
--   ember.show(...)        print values as the shell shows an expression's
--                          result: tab-separated, each one pretty-printed
--   ember.format(v)        the same text for one value, as a string
--   ember.complete(text)   completions for the word before the cursor: a
--                          sorted list of whole replacement words, or
--                          { files = true } inside a string (the C side
--                          then completes file names itself)
--   ember.commands         name -> { usage =, help =, run = function(args) }
--                          for :help, :time, :load, :who; :quit and :reset
--                          are listed with run = nil (the C side does them)
--   ember.banner(dir)      the start-up text, three lines with no final
--                          newline; dir is where Fashion-MNIST was found,
--                          or nil
--   ember.out(s)           where all of the above write; io.write unless a
--                          test (or the C side) replaces it
--
-- What this file must never do: raise from ember.format, ember.show or
-- ember.complete (a broken value must not kill the prompt), and call any
-- user function while completing (Tab must have no side effects). It only
-- reads tables with rawget/next and indexes userdata through ember's own
-- C __index functions. Output uses colour only when ember.color is true.
--
-- It runs after the other lua/ files (see lua_sources in meson.build), so
-- the globals they define count as built-in for :who.

-- The globals present now are the built-ins; :who lists the rest. `arg` is
-- set by the command line after this file runs, so it is built-in too.
local builtin_globals = {}
for name, value in next, _G do builtin_globals[name] = value end
local not_user_globals = { arg = true }

function ember.out(s) io.write(s) end

local function out(s) ember.out(s) end

-- ---- small helpers -------------------------------------------------------

local keywords = {}
for word in ([[and break do else elseif end false for function goto if in
               local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[word] = true
end

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and not keywords[s]
end

-- The name ember gives its types ("ember.Model"), or nil for anything else.
-- debug.getmetatable: a __metatable field must not hide the real one.
local function ember_type(v)
  local mt = debug.getmetatable(v)
  local name = mt and rawget(mt, "__name")
  if type(name) == "string" and name:match("^ember%.") then return name end
  return nil
end

-- s cut to at most n bytes, "..." marking the cut, never inside a UTF-8
-- character (tostrings may use Unicode when colour is on).
local function cut(s, n)
  if #s <= n then return s end
  local stop = n - 3
  while stop > 0 and (s:byte(stop + 1) or 0) & 0xC0 == 0x80 do stop = stop - 1 end
  return s:sub(1, stop) .. "..."
end

local function first_line(s)
  return s:match("^[^\n]*")
end

local function count_entries(t)
  local n = 0
  for _ in next, t do n = n + 1 end
  return n
end

local function plural(n, word)
  return n .. " " .. word .. (n == 1 and "" or "s")
end

-- ---- pretty printing -----------------------------------------------------

local MAX_DEPTH = 3          -- tables nested deeper show as {...}
local MAX_ENTRIES = 20       -- then "... (N more)"
local LINE_WIDTH = 78        -- a table wider than this goes one entry a line
local MAX_NESTED_STRING = 80 -- longer strings inside tables are cut

local colours = { number = "33", string = "32", boolean = "35", ["nil"] = "35",
                  key = "34", ["function"] = "36", mark = "90" }

local function paint(kind, s)
  if not ember.color then return s end
  return "\27[" .. colours[kind] .. "m" .. s .. "\27[0m"
end

local function visible_length(s)
  return #s:gsub("\27%[[%d;]*m", "")
end

-- %q-like, but one line: a newline shows as \n, not as a backslash-newline.
local escapes = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\\"] = "\\\\", ['"'] = '\\"' }
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\%d", c:byte())
  end) .. '"'
end

local function function_text(f)
  local info = debug.getinfo(f, "S")
  if info.what == "C" then return "function: builtin" end
  return string.format("function (%s:%d)", info.short_src, info.linedefined)
end

local function is_history(v)
  local mt = type(v) == "table" and debug.getmetatable(v)
  return mt and rawget(mt, "__name") == "ember.History"
end

-- tostring(v) for a value with a __tostring, protected: a failing
-- __tostring gives "<ember.X: tostring failed: msg>" instead of an error.
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  local mt = debug.getmetatable(v)
  local name = mt and rawget(mt, "__name")
  return string.format("<%s: tostring failed: %s>",
                       type(name) == "string" and name or type(v), tostring(s))
end

local function has_tostring(v)
  local mt = debug.getmetatable(v)
  return mt ~= nil and rawget(mt, "__tostring") ~= nil
end

-- Key order: numbers ascending, then strings alphabetically, then the rest
-- (booleans, tables...) by their text, so the order is always total.
local key_rank = { number = 1, string = 2 }
local function key_before(a, b)
  local ra, rb = key_rank[type(a)] or 3, key_rank[type(b)] or 3
  if ra ~= rb then return ra < rb end
  if ra == 3 then return tostring(a) < tostring(b) end
  return a < b
end

local format_value   -- defined below; tables and values call each other

local function key_text(k)
  if is_identifier(k) then return paint("key", k) end
  return "[" .. format_value(k, MAX_DEPTH, {}, 0) .. "]"
end

-- The entries of t in display order: the sequence 1..n first (shown
-- without keys), then the other keys sorted. Raw access only.
local function table_entries(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_before)
  return n, keys
end

-- The items joined by ", " into lines of at most width visible columns.
local function pack_lines(items, width)
  local lines, line = {}, nil
  for _, item in ipairs(items) do
    if line and visible_length(line) + 2 + visible_length(item) <= width then
      line = line .. ", " .. item
    else
      lines[#lines + 1] = line
      line = item
    end
  end
  lines[#lines + 1] = line
  return lines
end

local function format_table(t, depth, path, indent)
  if next(t) == nil then return "{}" end
  if path[t] then return paint("mark", "<cycle>") end
  if depth >= MAX_DEPTH then return "{" .. paint("mark", "...") .. "}" end
  path[t] = true
  local n, keys = table_entries(t)
  local total, items = n + #keys, {}
  for i = 1, math.min(n, MAX_ENTRIES) do
    items[#items + 1] = format_value(rawget(t, i), depth + 1, path, indent + 2)
  end
  for i = 1, math.min(#keys, MAX_ENTRIES - #items) do
    local k = keys[i]
    items[#items + 1] = key_text(k) .. " = " .. format_value(rawget(t, k), depth + 1, path, indent + 2)
  end
  if total > #items then
    items[#items + 1] = paint("mark", string.format("... (%d more)", total - #items))
  end
  path[t] = nil
  local inline = "{" .. table.concat(items, ", ") .. "}"
  if not inline:find("\n") and indent + visible_length(inline) <= LINE_WIDTH then return inline end
  -- Too wide for one line: one entry per line, indented by depth; but a
  -- plain list of short values is packed, many to a line.
  local pad = string.rep(" ", indent + 2)
  local lines = (#keys == 0 and not inline:find("\n")) and pack_lines(items, LINE_WIDTH - #pad - 1) or items
  return "{\n" .. pad .. table.concat(lines, ",\n" .. pad) .. "\n" .. string.rep(" ", indent) .. "}"
end

-- An ember object (or anything with a __tostring) inside a table shows its
-- first line only, so a table of tensors stays readable; a history, whose
-- first line is its column titles, says how many epochs it holds.
local function nested_object_text(v)
  if is_history(v) then
    local epochs = rawget(v, "epoch")
    return string.format("history(%s)", plural(type(epochs) == "table" and #epochs or 0, "epoch"))
  end
  local s = safe_tostring(v)
  local line = first_line(s)
  return line == s and line or line .. " ..."
end

-- depth 0 is the value the user asked for; its own text is shown whole.
function format_value(v, depth, path, indent)
  local kind = type(v)
  if kind == "string" then
    if depth > 0 and #v > MAX_NESTED_STRING then
      return paint("string", quote(v:sub(1, MAX_NESTED_STRING))) .. paint("mark", string.format("... (%d bytes)", #v))
    end
    return paint("string", quote(v))
  elseif kind == "number" or kind == "boolean" or kind == "nil" then
    return paint(kind, tostring(v))
  elseif kind == "function" then
    return paint("function", function_text(v))
  elseif has_tostring(v) then
    return depth == 0 and safe_tostring(v) or nested_object_text(v)
  elseif kind == "table" then
    return format_table(v, depth, path, indent)
  end
  return safe_tostring(v)   -- userdata and threads without a __tostring
end

--- ember.format(v) -> the text the shell shows for v; never raises.
function ember.format(v)
  local ok, s = pcall(format_value, v, 0, {}, 0)
  if ok then return s end
  return "<" .. type(v) .. ": format failed: " .. tostring(s) .. ">"
end

--- ember.show(...): the values, pretty-printed and tab-separated, then a
--- newline, through ember.out; nothing at all for no values (like lua.c).
function ember.show(...)
  local n = select("#", ...)
  if n == 0 then return end
  local parts = {}
  for i = 1, n do parts[i] = ember.format((select(i, ...))) end
  out(table.concat(parts, "\t") .. "\n")
end

-- ---- completion ----------------------------------------------------------

-- Field names of ember types whose __index computes them (so there is no
-- table to walk). A metatable's own __fields, when present, wins.
local static_fields = {
  ["ember.Model"] = { "layers", "history", "data", "cursor", "params", "built", "compiled",
                      "input_shape", "units", "loss", "optimizer", "metrics", "batch_size" },
  ["ember.Layer"] = { "name", "kind", "index", "units", "activation", "rate", "params", "weights",
                      "bias", "output", "input_shape", "output_shape" },
}

local function is_c_function(f)
  return type(f) == "function" and debug.getinfo(f, "S").what == "C"
end

-- v[key] without running user code: tables through rawget and then any
-- __index *tables* up the chain; ember userdata through their C __index.
-- Returns nil when the step cannot be taken safely.
local function safe_index(v, key)
  for _ = 1, 10 do   -- bound the __index chain: it may loop
    if type(v) == "table" then
      local found = rawget(v, key)
      if found ~= nil then return found end
    end
    local mt = debug.getmetatable(v)
    local index = mt and rawget(mt, "__index")
    if type(index) == "table" then
      v = index
    elseif type(v) == "userdata" and ember_type(v) and is_c_function(index) then
      local ok, found = pcall(index, v, key)
      if ok then return found end
      return nil
    else
      return nil
    end
  end
  return nil
end

-- The names v offers, each with its value when known without running
-- anything (nil for fields an ember __index computes).
local function offered_names(v)
  local names = {}
  local function add_table(t)
    for k, value in next, t do
      if is_identifier(k) and names[k] == nil then names[k] = { value = value } end
    end
  end
  local seen = {}
  local current = v
  for _ = 1, 10 do
    if seen[current] then break end
    seen[current] = true
    if type(current) == "table" then add_table(current) end
    local mt = debug.getmetatable(current)
    local index = mt and rawget(mt, "__index")
    if type(index) ~= "table" then break end
    current = index
  end
  local name = ember_type(v)
  if name then
    local mt = debug.getmetatable(v)
    local methods = rawget(mt, "__methods")
    if type(methods) == "table" then add_table(methods) end
    local fields = rawget(mt, "__fields")
    if type(fields) ~= "table" then fields = static_fields[name] or {} end
    for i = 1, rawlen(fields) do
      local field = rawget(fields, i)
      if is_identifier(field) and names[field] == nil then names[field] = {} end
    end
  end
  return names
end

-- "m.layers[3]" -> the value it names, or nil. Only name, .field, [integer]
-- and ["string"] steps; anything else (a call, an expression) is refused.
local function evaluate_path(path)
  local root, rest = path:match("^([%a_][%w_]*)(.*)$")
  if not root or keywords[root] then return nil end
  local v = rawget(_G, root)
  while rest ~= "" and v ~= nil do
    local field, after = rest:match("^%.([%a_][%w_]*)(.*)$")
    if not field then
      local number
      number, after = rest:match("^%[%s*(%-?%d+)%s*%](.*)$")
      field = math.tointeger(tonumber(number))
    end
    if field == nil then
      local _, text
      _, text, after = rest:match("^%[(['\"])([^'\"]*)%1%](.*)$")
      field = text
    end
    if field == nil then return nil end
    v, rest = safe_index(v, field), after
  end
  return v
end

local function sorted_unique(list)
  table.sort(list)
  local result = {}
  for i, s in ipairs(list) do
    if s ~= list[i - 1] then result[#result + 1] = s end
  end
  return result
end

local function complete_commands(text)
  local matches = {}
  for name in pairs(ember.commands) do
    local word = ":" .. name
    if word:sub(1, #text) == text then matches[#matches + 1] = word end
  end
  return sorted_unique(matches)
end

-- A bare word: globals (a function gets "(") and keywords.
local function complete_global(text)
  local matches = {}
  for name, value in next, _G do
    if is_identifier(name) and name:sub(1, #text) == text then
      matches[#matches + 1] = name .. (type(value) == "function" and "(" or "")
    end
  end
  for word in pairs(keywords) do
    if word:sub(1, #text) == text then matches[#matches + 1] = word end
  end
  return sorted_unique(matches)
end

-- "head.prefix" or "head:prefix": the names of head's value; after ":"
-- only functions. A name whose value is a function gets "(".
local function complete_member(head, separator, prefix)
  local v = evaluate_path(head)
  if v == nil then return {} end
  local matches = {}
  for name, entry in pairs(offered_names(v)) do
    local is_function = type(entry.value) == "function"
    if name:sub(1, #prefix) == prefix and (separator == "." or is_function) then
      matches[#matches + 1] = head .. separator .. name .. (is_function and "(" or "")
    end
  end
  return sorted_unique(matches)
end

local function complete(text)
  local first = text:sub(1, 1)
  if first == '"' or first == "'" then return { files = true } end
  if first == ":" then return complete_commands(text) end
  local head, separator, prefix = text:match("^(.*)([.:])([%w_]*)$")
  if not head then
    if text == "" or text:match("^[%a_][%w_]*$") then return complete_global(text) end
    return {}
  end
  if prefix:match("^%d") then return {} end   -- "1.5" is a number, not a field
  return complete_member(head, separator, prefix)
end

--- ember.complete(text) -> the completions of the word text (see the top).
function ember.complete(text)
  if type(text) ~= "string" then return {} end
  local ok, result = pcall(complete, text)
  if ok then return result end
  return {}
end

-- ---- shell commands ------------------------------------------------------

local function trim(s)
  return (s or ""):match("^%s*(.-)%s*$")
end

-- A one-line description of a global for :who.
local function describe(v)
  local kind = type(v)
  if ember_type(v) then return cut(first_line(safe_tostring(v)), 70) end
  if is_history(v) then return nested_object_text(v) end
  if kind == "table" then
    local n = count_entries(v)
    return "table, " .. n .. (n == 1 and " entry" or " entries")
  end
  if kind == "function" then return function_text(v) end
  if kind == "string" then return "string, " .. cut(quote(v), 60) end
  if kind == "number" or kind == "boolean" then return kind .. ", " .. tostring(v) end
  return kind .. ", " .. cut(first_line(safe_tostring(v)), 60)
end

-- Globals added since start-up, or built-ins the user has replaced.
local function user_globals()
  local names = {}
  for name, value in next, _G do
    if type(name) == "string" and not not_user_globals[name]
       and not rawequal(builtin_globals[name], value) then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

local function run_who()
  local names = user_globals()
  if #names == 0 then
    out("no globals defined yet\n")
    return
  end
  local width = 0
  for _, name in ipairs(names) do width = math.max(width, #name) end
  width = math.min(width, 20)
  for _, name in ipairs(names) do
    local note = builtin_globals[name] ~= nil and " (replaces a built-in)" or ""
    out(string.format("%-" .. width .. "s  %s%s\n", name, describe(rawget(_G, name)), note))
  end
end

-- :time: an expression first (so its value prints), as lua.c does, then a
-- statement; errors go to the caller, which reports them like any other.
local function run_time(args)
  local code = trim(args)
  if code == "" then error("usage: :time <statement or expression>", 0) end
  local chunk = load("return " .. code, "=time")
  if not chunk then
    local message
    chunk, message = load(code, "=time")
    if not chunk then error(message, 0) end
  end
  local wall, cpu = ember.clock(), os.clock()
  local results = table.pack(chunk())
  wall, cpu = ember.clock() - wall, os.clock() - cpu
  ember.show(table.unpack(results, 1, results.n))
  out(string.format("wall %.3f s, cpu %.3f s\n", wall, cpu))
end

local function run_load(args)
  local path = trim(args)
  path = path:match('^"(.*)"$') or path:match("^'(.*)'$") or path
  if path == "" then error("usage: :load <file.lua>", 0) end
  dofile(path)
end

local shell_help = [[
Type a Lua statement, or an expression to see its value (m, 1+1, p:argmax()).
An unfinished statement (an open function, for, { or string) continues on
the next line. Tab completes names, fields, methods (m:ev -> m:evaluate()
and, inside a string, file names. Ctrl-C clears the line, or stops what is
running (training stops at the next batch boundary, the model intact).
Ctrl-D or :quit leaves; the history is kept across runs.
]]

local function run_help(args)
  local topic = trim(args)
  if topic ~= "" then
    -- ":help m" means help(m) when m is an ember object; otherwise a topic name.
    local value = is_identifier(topic) and rawget(_G, topic)
    help(ember_type(value) and value or topic)
    return
  end
  local lines = { shell_help, "Commands:" }
  local names = {}
  for name in pairs(ember.commands) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local command = ember.commands[name]
    lines[#lines + 1] = string.format("  %-16s %s", command.usage or (":" .. name), command.help)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = 'help() lists the whole Lua API; help("nn"), help("inside"), help("data"), help("tensor")'
  lines[#lines + 1] = "or help(x) for an ember object shows one part."
  out(table.concat(lines, "\n") .. "\n")
end

ember.commands = {
  help = { usage = ":help [topic]", run = run_help,
           help = "this text; with a topic (nn, inside, data, tensor or an object), its API" },
  time = { usage = ":time <code>", run = run_time,
           help = "run a statement or expression, show its value, wall and CPU time" },
  load = { usage = ":load <file>", run = run_load,
           help = "run a Lua file here; its globals stay (like dofile)" },
  who = { usage = ":who", run = run_who,
          help = "the globals you have defined, one line each" },
  quit = { usage = ":quit", run = nil,
           help = "leave the shell (also Ctrl-D); the history is saved" },
  reset = { usage = ":reset", run = nil,
            help = "start a fresh Lua state, after confirming" },
}

-- ---- banner --------------------------------------------------------------

--- ember.banner(dir) -> the start-up text: three lines, no final newline.
function ember.banner(dataset_dir)
  local dot = ember.color and " · " or " - "
  local threads = ember.threads()
  local lines = {
    "ember " .. ember.version .. dot .. _VERSION .. dot .. ember.blas .. ", " .. plural(threads, "thread"),
    dataset_dir and ("Fashion-MNIST: " .. dataset_dir)
      or "Fashion-MNIST not found: sudo apt-get install dataset-fashion-mnist",
    "help() for the API, :help for the shell, Ctrl-D to quit",
  }
  return table.concat(lines, "\n")
end
