-- tests/lua/tensor.lua: the Tensor userdata and the tensor module.
-- Run as `build/ember tests/lua/tensor.lua`; a failed assert raises, so
-- the script exits 0 only when everything holds.

local function close(a, b, eps) return math.abs(a - b) <= (eps or 1e-6) end

-- Calls f(...), which must raise; the message must contain `text`.
local function fails(text, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. text)
  msg = tostring(msg)
  assert(string.find(msg, text, 1, true), "error was: " .. msg .. "\nexpected: " .. text)
end

local function same_table(a, b)
  if type(a) ~= "table" then return a == b end
  if #a ~= #b then return false end
  for i = 1, #a do if not same_table(a[i], b[i]) then return false end end
  return true
end

-- construction and shapes ---------------------------------------------------
do
  local z = tensor.zeros(2, 3)
  assert(tensor.is(z) and not tensor.is({}) and not tensor.is(3) and not tensor.is(nil))
  assert(same_table(z.shape, {2, 3}))
  assert(z:size() == 6 and z:rank() == 2 and #z == 2)
  assert(z:sum() == 0)
  local s = z.shape; s[1] = 99                      -- shape is a fresh table
  assert(z.shape[1] == 2)
  assert(same_table(tensor.zeros{4, 1, 2, 3}.shape, {4, 1, 2, 3}))
  assert(tensor.zeros{4, 1, 2, 3}:rank() == 4)
  assert(tensor.ones(5):sum() == 5 and #tensor.ones(5) == 5)
  local f = tensor.fill(2.5, {2, 2})
  assert(f:sum() == 10 and f:get(2, 2) == 2.5)
  assert(tensor.fill(-1, 3):min() == -1)

  fails("bad argument #2 to", tensor.zeros, 2, 2.5)
  fails("number has no integer representation", tensor.zeros, 2, 2.5)
  fails("tensor.zeros: dimension 2 must be a positive integer (got -3)", tensor.zeros, 2, -3)
  fails("tensor.zeros: dimension 2 must be a positive integer (got -3)", tensor.zeros, {2, -3})
  fails("tensor.ones: dimension 1 must be a positive integer (got 0)", tensor.ones, 0)
  fails("tensor.ones: dimension 2 must be a positive integer (got x)", tensor.ones, {2, "x"})
  fails("tensor.zeros: a tensor has 1 to 4 dimensions (got 5)", tensor.zeros, 1, 1, 1, 1, 1)
  fails("tensor.zeros: a tensor has 1 to 4 dimensions (got 0)", tensor.zeros)
  fails("tensor.zeros: a tensor has 1 to 4 dimensions (got 0)", tensor.zeros, {})
  fails("GB", tensor.zeros, 65536, 65537)
  fails("at most 2^31 values", tensor.zeros, 65536, 65536, 65536, 65536)
  fails("bad argument #1 to", tensor.fill, "many", 2)
  fails("bad argument #1 to", tensor.is)
end

-- from / totable ------------------------------------------------------------
do
  local rows = {{1, 2, 3}, {4, 5, 6}}
  local t = tensor.from(rows)
  assert(same_table(t.shape, {2, 3}))
  assert(same_table(t:totable(), rows))
  assert(t:get(1, 3) == 3 and t:get(2, 1) == 4)
  local cube = {{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}
  assert(same_table(tensor.from(cube):totable(), cube))
  assert(same_table(tensor.from(cube).shape, {2, 2, 2}))
  assert(same_table(tensor.from{7}:totable(), {7}))
  assert(tensor.from{0.5}[1] == 0.5)

  fails("tensor.from: row 3 has 2 values, row 1 has 3", tensor.from, {{1, 2, 3}, {1, 2, 3}, {1, 2}})
  fails("tensor.from: row 2 has 4 values, row 1 has 3", tensor.from, {{1, 2, 3}, {1, 2, 3, 4}})
  fails("tensor.from: row 2,2 has 1 value, row 1,1 has 2", tensor.from, {{{1, 2}, {1, 2}}, {{1, 2}, {1}}})
  fails("tensor.from: value at 2,2 is not a number (got string)", tensor.from, {{1, 2}, {1, "x"}})
  fails("tensor.from: row 2 is not a table (got number)", tensor.from, {{1, 2}, 3})
  fails("tensor.from: value at 2 is not a number (got table)", tensor.from, {1, {2}})
  fails("tensor.from: empty table", tensor.from, {})
  fails("tensor.from: empty table", tensor.from, {{}})
  fails("nested deeper than 4", tensor.from, {{{{{1}}}}})
  fails("table expected, got number", tensor.from, 5)
end

-- 1-based indexing, rows as views -------------------------------------------
do
  local v = tensor.from{10, 20, 30}
  assert(v[1] == 10 and v[3] == 30)
  v[2] = 21
  assert(v[2] == 21 and v:get(2) == 21)
  v:set(3, 31)
  assert(v[3] == 31)
  fails("tensor: index 0 out of range (1..3)", function() return v[0] end)
  fails("tensor: index 4 out of range (1..3)", function() return v[4] end)
  fails("tensor: index -1 out of range (1..3)", function() v[-1] = 1 end)
  fails("tensor: index 1.5 is not an integer", function() return v[1.5] end)
  fails("tensor: index must be an integer (got boolean)", function() return v[true] end)
  fails("tensor: cannot assign a string to element 1 (number expected)", function() v[1] = "x" end)
  fails("tensor: cannot set field 'shape'", function() v.shape = {3} end)
  assert(v[2.0] == 21)                              -- integral floats are fine
  assert(v.nosuchmethod == nil)
  local mt = getmetatable(v)                        -- what tab completion walks
  assert(mt.__name == "ember.Tensor" and mt.__methods.topk == v.topk and mt.__fields[1] == "shape")

  local m = tensor.from{{1, 2, 3}, {4, 5, 6}}
  local row = m[2]
  assert(tensor.is(row) and row:rank() == 1 and #row == 3)
  assert(row[1] == 4 and row[3] == 6)
  row[1] = 40                                       -- writes through to m
  assert(m:get(2, 1) == 40)
  m:set(2, 3, 60)                                   -- and m's writes show in row
  assert(row[3] == 60)
  m[1] = 7                                          -- fill a row
  assert(same_table(m:totable(), {{7, 7, 7}, {40, 5, 60}}))
  m[1] = tensor.from{1, 2, 3}                       -- copy a row
  assert(same_table(m[1]:totable(), {1, 2, 3}))
  m[2] = m[1]                                       -- copy between views of one tensor
  assert(same_table(m:totable(), {{1, 2, 3}, {1, 2, 3}}))
  fails("tensor: shapes 3 and 2 do not match (assigning to row 1)", function() m[1] = tensor.zeros(2) end)
  fails("tensor: cannot assign a boolean to row 2 (number or tensor expected)", function() m[2] = true end)
  fails("tensor: index 3 out of range (1..2)", function() return m[3] end)

  local c = tensor.zeros(2, 3, 4)
  c[2][3][4] = 9                                    -- views of views
  assert(c:get(2, 3, 4) == 9 and c:sum() == 9)

  fails("bad argument #2 to 'get' (index 4 out of range 1..3)", function() return m:get(1, 4) end)
  fails("bad argument #1 to 'get' (index 0 out of range 1..2)", function() return m:get(0, 1) end)
  fails("tensor:get: shape 2x3 takes 2 indices (got 1 argument)", function() return m:get(1) end)
  fails("tensor:set: shape 2x3 takes 2 indices and a value (got 4 arguments)", function() m:set(1, 1, 1, 5) end)
  fails("tensor:set: shape 3 takes 1 index and a value (got 0 arguments)", function() v:set() end)
  fails("bad argument #3 to 'set' (number expected, got string)", function() m:set(1, 1, "q") end)
  fails("number has no integer representation", function() return m:get(1, 1.5) end)
end

-- views outlive the variable that held their parent ------------------------
do
  local parent = tensor.from{{1, 2}, {3, 4}}
  local row, sl, flat = parent[2], parent:slice(1, 1), parent:reshape(4)
  local inner = parent:slice(2, 2)[1]               -- a view of a view
  parent = nil
  collectgarbage(); collectgarbage()
  local junk = {}
  for i = 1, 200 do junk[i] = tensor.fill(-7, 2, 2) end  -- reuse freed memory, if any
  collectgarbage()
  assert(row[1] == 3 and row[2] == 4)
  assert(sl:get(1, 2) == 2)
  assert(same_table(flat:totable(), {1, 2, 3, 4}))
  inner[1] = 30
  assert(row[1] == 30 and flat[3] == 30)
end

-- slice and reshape ---------------------------------------------------------
do
  local t = tensor.from{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
  local s = t:slice(2, 3)
  assert(same_table(s.shape, {2, 2}))
  assert(same_table(s:totable(), {{3, 4}, {5, 6}}))
  s:set(1, 1, 30)
  assert(t:get(2, 1) == 30)
  assert(same_table(t:slice(4).shape, {1, 2}))      -- last defaults to the end
  assert(t:slice(3):get(2, 2) == 8)
  fails("bad argument #1 to 'slice' (first row 0 out of range 1..4)", function() return t:slice(0, 2) end)
  fails("bad argument #2 to 'slice' (last row 5 out of range 2..4)", function() return t:slice(2, 5) end)
  fails("bad argument #2 to 'slice' (last row 1 out of range 2..4)", function() return t:slice(2, 1) end)

  local r = t:reshape(2, 4)
  assert(same_table(r.shape, {2, 4}))
  assert(same_table(r:totable(), {{1, 2, 30, 4}, {5, 6, 7, 8}}))
  r[1] = 0                                          -- shares t's memory
  assert(t:get(1, 1) == 0 and t:get(2, 2) == 0 and t:get(3, 1) == 5)
  assert(same_table(t:reshape{8}.shape, {8}))
  assert(same_table(t:reshape(-1, 2, 2).shape, {2, 2, 2}))
  assert(same_table(t:reshape(-1).shape, {8}))
  fails("tensor:reshape: cannot reshape 4x2 (8 values) to 3x3", function() return t:reshape(3, 3) end)
  fails("tensor:reshape: cannot reshape 4x2 (8 values) to 3x-1", function() return t:reshape(3, -1) end)
  fails("tensor:reshape: dimension 2 must be a positive integer (got -1)", function() return t:reshape(-1, -1) end)
  fails("tensor:reshape: dimension 1 must be a positive integer (got 0)", function() return t:reshape(0, 8) end)

  local c = t:copy()
  assert(same_table(c:totable(), t:totable()))
  c[1] = 99                                         -- a copy owns its data
  assert(t:get(1, 1) == 0 and c:get(1, 1) == 99)
end

-- arithmetic ----------------------------------------------------------------
do
  local a = tensor.from{{1, 2, 3}, {4, 5, 6}}
  local b = tensor.from{{6, 5, 4}, {3, 2, 1}}
  assert(same_table((a + b):totable(), {{7, 7, 7}, {7, 7, 7}}))
  assert(same_table((a - b):totable(), {{-5, -3, -1}, {1, 3, 5}}))
  assert(same_table((a * b):totable(), {{6, 10, 12}, {12, 10, 6}}))
  assert((b / a):get(2, 2) ~= 0.4 and close((b / a):get(2, 2), 0.4))  -- stored as float32
  assert(close((b / a):get(2, 3), 1 / 6))
  assert(same_table((a + 1):totable(), {{2, 3, 4}, {5, 6, 7}}))
  assert(same_table((10 - a):totable(), {{9, 8, 7}, {6, 5, 4}}))
  assert(same_table((a - 10):totable(), {{-9, -8, -7}, {-6, -5, -4}}))
  assert(same_table((2 * a):totable(), {{2, 4, 6}, {8, 10, 12}}))
  assert(same_table((a / 2):totable(), {{0.5, 1, 1.5}, {2, 2.5, 3}}))
  assert(same_table((12 / a):totable()[1], {12, 6, 4}))
  assert(same_table((-a):totable(), {{-1, -2, -3}, {-4, -5, -6}}))
  assert(same_table(a:scale(3):totable(), {{3, 6, 9}, {12, 15, 18}}))
  assert(a:get(1, 1) == 1)                          -- operators leave operands alone
  local sum = a[1] + a[2]                           -- views work like tensors
  assert(same_table(sum:totable(), {5, 7, 9}) and not sum:totable()[4])

  fails("tensor: shapes 2x3 and 3x2 do not match", function() return a + tensor.zeros(3, 2) end)
  fails("tensor: shapes 2x3 and 6 do not match", function() return a * tensor.zeros(6) end)
  fails("tensor: arithmetic on a string value", function() return a + "1" end)
  fails("tensor: arithmetic on a table value", function() return {} - a end)
  fails("bad argument #1 to 'scale'", function() return a:scale("x") end)

  local e = tensor.from{-1, 0, 4}
  assert(same_table(e:abs():totable(), {1, 0, 4}))
  assert(close(e:exp()[1], math.exp(-1)) and e:exp()[2] == 1)
  assert(tensor.from{1, 4}:sqrt()[2] == 2)
  assert(close(tensor.from{math.exp(2)}:log()[1], 2, 1e-5))
  assert(e[1] == -1)
end

-- reductions ----------------------------------------------------------------
do
  local t = tensor.from{3, 1, 4, 1, 5, 9, 2, 6, 9}
  assert(t:sum() == 40 and close(t:mean(), 40 / 9))
  assert(t:max() == 9 and t:min() == 1)
  assert(t:argmax() == 6)                           -- first of the tied 9s
  assert(t:argmin() == 2)                           -- first of the tied 1s
  local values, positions = t:topk(4)
  assert(same_table(values, {9, 9, 6, 5}))
  assert(same_table(positions, {6, 9, 8, 5}))
  local v1, p1 = t:topk(1)
  assert(#v1 == 1 and v1[1] == 9 and p1[1] == 6)
  local all = t:topk(9)
  assert(#all == 9 and all[9] == 1)
  fails("bad argument #1 to 'topk' (k must be in 1..9 (got 0))", function() return t:topk(0) end)
  fails("k must be in 1..9 (got 10)", function() return t:topk(10) end)
  fails("rank 1 expected, got rank 2", function() return tensor.zeros(2, 2):topk(1) end)

  local m = tensor.from{{0.1, 0.7, 0.2}, {0.5, 0.5, 0.1}, {0.3, 0.2, 0.9}}
  assert(same_table(m:argmax(), {2, 1, 3}))
  assert(same_table(m:argmin(), {1, 3, 2}))
  assert(close(m:sum(), 3.5, 1e-6) and m:max() == m:get(3, 3))
  fails("rank 1 or 2 expected, got rank 3", function() return tensor.zeros(2, 2, 2):argmax() end)

  -- sums accumulate in double: 2^24 + 1 is not a float32, but the sum is exact
  local big = tensor.fill(1, 16777217)
  assert(big:sum() == 16777217)
  big = nil; collectgarbage()
end

-- rand ----------------------------------------------------------------------
do
  local r = tensor.rand(100)
  assert(r:min() >= 0 and r:max() < 1 and r:max() > r:min())
  assert(same_table(tensor.rand{2, 3}.shape, {2, 3}))
  assert(type(seed) == "function", "ember provides seed(n)")
  seed(1); local a = tensor.rand(3, 4)
  seed(1); local b = tensor.rand(3, 4)
  seed(2); local c = tensor.rand(3, 4)
  assert(same_table(a:totable(), b:totable()))
  assert(not same_table(a:totable(), c:totable()))
end

-- tostring ------------------------------------------------------------------
do
  local t = tensor.from{{0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}}
  assert(tostring(t) == "tensor(2x3)\n[[0.1000, 0.2000, 0.3000],\n [0.4000, 0.5000, 0.6000]]", tostring(t))
  assert(tostring(t[2]) == "tensor(3, view)\n[0.4000, 0.5000, 0.6000]", tostring(t[2]))
  assert(tostring(tensor.from{-1, 2.5}) == "tensor(2)\n[-1.0000,  2.5000]")
  assert(tostring(tensor.from{1e-5, 1}) == "tensor(2)\n[1.000e-05, 1.000e+00]")
  assert(tostring(tensor.from{20000, 0}) == "tensor(2)\n[2.000e+04, 0.000e+00]")
  assert(tostring(tensor.from{10000}) == "tensor(1)\n[1.000e+04]")
  assert(tostring(tensor.from{9999}) == "tensor(1)\n[9999.0000]")
  assert(tostring(tensor.from{0.0009}) == "tensor(1)\n[9.000e-04]")
  assert(tostring(tensor.from{0.001, 0}) == "tensor(2)\n[0.0010, 0.0000]")
  assert(tostring(tensor.from{{{1, 2}}, {{3, 4}}}) == "tensor(2x1x2)\n[[[1.0000, 2.0000]],\n\n [[3.0000, 4.0000]]]")

  local seq = tensor.zeros(10)
  for i = 1, 10 do seq[i] = i end
  assert(not tostring(seq):find("...", 1, true))    -- small: shown whole
  local big = tensor.zeros(1001)
  for i = 1, 1001 do big[i] = i end
  -- right-aligned to the widest shown value
  assert(tostring(big) == "tensor(1001)\n[   1.0000,    2.0000,    3.0000, ...,  999.0000, 1000.0000, 1001.0000]",
         tostring(big))
  local s = tostring(tensor.zeros(100, 100))
  assert(s:find("tensor(100x100)", 1, true) and s:find("...", 1, true))
  assert(select(2, s:gsub("\n", "")) == 7)          -- header + 3 rows + ... + 3 rows
  -- summarised only above 1000 values, then only dimensions longer than 6
  assert(not tostring(tensor.zeros(5, 200)):find("...", 1, true))
  assert(tostring(tensor.zeros(5, 201)):find("tensor(5x201)\n[[0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000],\n [0.0000", 1, true))
  assert(select(2, tostring(tensor.zeros(5, 201)):gsub("\n", "")) == 5)
  assert(tostring(tensor.zeros(7, 150)):find("0.0000],\n ...,\n [0.0000", 1, true))  -- 7 rows > 6
end

print("tensor: all tests passed")
