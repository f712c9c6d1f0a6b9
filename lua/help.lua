-- lua/help.lua: help([topic]), drawn from README.md's "Lua reference"
-- (compiled into the binary with the Lua files), so the two never differ.
--
--   help()            the whole reference
--   help("data")      one part: "nn" (or "model"), "data", "tensor"
--   help(m)           the part for an ember object: a Model, Dataset, Tensor

local readme = ember.embedded("README.md") or ""

-- The "### Title" parts under "## Lua reference", each with its text.
local function sections()
  local body = readme:match("\n## Lua reference\n(.-)\n## ") or ""
  local parts, current = {}, nil
  for line in (body .. "\n"):gmatch("(.-)\n") do
    local title = line:match("^### (.*)")
    if title then
      current = { title = title, lines = {} }
      parts[#parts + 1] = current
    elseif current then
      current.lines[#current.lines + 1] = line
    end
  end
  for _, part in ipairs(parts) do part.text = table.concat(part.lines, "\n") end
  return parts, body
end

local aliases = { model = "nn", models = "nn", layer = "nn", datasets = "data", dataset = "data",
                  tensors = "tensor", inspect = "inside", looking = "inside", plot = "inside",
                  probs = "inside" }
local kinds = { ["ember.Model"] = "nn", ["ember.Layer"] = "nn", ["ember.Snapshot"] = "nn", ["ember.Dataset"] = "data",
                ["ember.Tensor"] = "tensor" }

function help(topic)
  local parts, body = sections()
  if topic == nil then
    io.write(body, "\n")
    return
  end
  if type(topic) ~= "string" then
    local mt = getmetatable(topic)
    topic = mt and kinds[mt.__name]
    if not topic then
      print("help: no help for a " .. type(topic) .. "; try help(), help(\"nn\"), help(\"data\"), help(\"tensor\")")
      return
    end
  end
  local key = aliases[topic:lower()] or topic:lower()
  for _, part in ipairs(parts) do
    if part.title:find("`" .. key .. "`", 1, true) or part.title:lower():find(key, 1, true) then
      io.write("### ", part.title, "\n", part.text, "\n")
      return
    end
  end
  print(string.format('help: no topic "%s" (nn, inside, data, tensor)', topic))
end
