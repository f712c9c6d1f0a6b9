-- tests/lua/fixture.lua: what the Lua API tests share, loaded with
--   local fixture = dofile((arg[0]:match("^(.*)/") or ".") .. "/fixture.lua")
--
-- The small dataset the model tests train on (no real data needed), and
-- the assertion helpers every one of them used to define for itself.

local fixture = {}

--- raises(text, f, ...): f(...) must fail with a message containing text;
--- returns the message.
function fixture.raises(text, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. text)
  msg = tostring(msg)
  assert(string.find(msg, text, 1, true), "error was: " .. msg .. "\nexpected: " .. text)
  return msg
end

--- contains(s, text [, what]): text must occur in s.
function fixture.contains(s, text, what)
  assert(string.find(s, text, 1, true), (what or "text") .. " lacks \"" .. text .. "\":\n" .. s)
end

--- same_list(a, b, what): two lists equal element by element (==).
function fixture.same_list(a, b, what)
  assert(a and b, what .. ": missing list")
  assert(#a == #b, what .. ": lengths " .. #a .. " and " .. #b)
  for i = 1, #a do
    assert(a[i] == b[i], what .. ": differ at " .. i .. " (" .. tostring(a[i]) .. " vs "
           .. tostring(b[i]) .. ")")
  end
end

--- all_weights(m): every parameter of a model, in order, as one list.
function fixture.all_weights(m)
  local out = {}
  for _, layer in ipairs(m.layers) do
    if layer.kind == "dense" then
      fixture.flat(layer.weights:totable(), out)
      fixture.flat(layer.bias:totable(), out)
    end
  end
  return out
end

--- flat(t): nested tables of numbers (tensor:totable()) as one list.
function fixture.flat(t, out)
  out = out or {}
  for _, v in ipairs(t) do
    if type(v) == "table" then fixture.flat(v, out) else out[#out + 1] = v end
  end
  return out
end

--- idx_bytes(count, classes) -> images, labels: the bytes of two raw IDX
--- files of count samples of 6x6. Class k (0, 1, 2) is bright (200..230)
--- in rows 2k+1 and 2k+2 and dark (0..30) elsewhere, the noise from a
--- fixed LCG, so the files are the same on every run; labels cycle 0, 1,
--- 2, ...
function fixture.idx_bytes(count, classes)
  local state = 12345
  local function noise()
    state = (state * 1103515245 + 12345) % 2147483648
    return state % 31
  end
  local images = { string.pack(">I4I4I4I4", 0x00000803, count, 6, 6) }
  local labels = { string.pack(">I4I4", 0x00000801, count) }
  for i = 1, count do
    local label = (i - 1) % classes
    labels[#labels + 1] = string.char(label)
    local pixels = {}
    for r = 1, 6 do
      for _ = 1, 6 do
        pixels[#pixels + 1] = (r - 1) // 2 == label and 200 + noise() or noise()
      end
    end
    images[#images + 1] = string.char(table.unpack(pixels))
  end
  return table.concat(images), table.concat(labels)
end

return fixture
