--- The model list (switchboard/models) and the picker that sets the model chat uses.
local config = require("switchboard.config")
local notify = require("switchboard.notify")
local server = require("switchboard.server")
local status = require("switchboard.status")

local M = {}

---@type table[]? the last list the server sent
local cached = nil

---@param count integer?
---@return string
local function short_count(count)
  if not count then
    return "?"
  end
  if count >= 1000000 then
    return ("%gM"):format(math.floor(count / 100000) / 10)
  end
  if count >= 1000 then
    return ("%gk"):format(math.floor(count / 100) / 10)
  end
  return tostring(count)
end

---@param usd number?
---@return string
local function price(usd)
  return usd and ("$%.2f"):format(usd) or "?"
end

--- One picker line: id, availability, limits, price.
---@param model table ModelInfo
---@return string
function M.format(model)
  local _, mark, readiness = status.model(model)
  local parts = {
    ("%s %s"):format(mark, model.id),
    ("%s ctx"):format(short_count(model.contextWindow)),
  }
  if model.maxOutputTokens then
    table.insert(parts, ("%s out"):format(short_count(model.maxOutputTokens)))
  end
  local pricing = model.pricing
  if pricing then
    table.insert(
      parts,
      ("%s/%s per MTok"):format(price(pricing.inputPerMTok), price(pricing.outputPerMTok))
    )
  else
    table.insert(parts, "price unknown")
  end
  if readiness then
    table.insert(parts, readiness)
  end
  if model.id == config.chat_model() then
    table.insert(parts, "in use")
  elseif model.isDefault then
    table.insert(parts, "default")
  end
  return table.concat(parts, " · ")
end

---@param models table[]
---@return table[]
local function available_first(models)
  local sorted = vim.list_extend({}, models)
  local order = { ready = 1, unchecked = 2, missing = 3 }
  table.sort(sorted, function(a, b)
    local a_rank, b_rank = order[status.model(a)], order[status.model(b)]
    if a_rank ~= b_rank then
      return a_rank < b_rank
    end
    return a.id < b.id
  end)
  return sorted
end

---@param on_models fun(models: table[])
function M.list(on_models)
  server.request("switchboard/models", vim.empty_dict(), function(result)
    cached = result.models
    on_models(cached)
  end)
end

--- Model ids for command-line completion: the cached list, else a short synchronous ask.
---@return string[]
function M.ids()
  if not cached then
    local client = server.ready_client()
    local reply = client and client:request_sync("switchboard/models", vim.empty_dict(), 2000)
    cached = reply and reply.result and reply.result.models or nil
  end
  return vim.tbl_map(function(model)
    return model.id
  end, cached or {})
end

--- The model chat, ask and complete use from now on.
---@param id string
function M.use(id)
  config.options.model = id
  notify.info("chat uses " .. id)
end

--- `:Switchboard model [id]`: sets it, or picks one from the list.
---@param id string?
function M.choose(id)
  if id and id ~= "" then
    return M.use(id)
  end
  M.list(function(models)
    vim.ui.select(available_first(models), {
      prompt = "Switchboard model",
      kind = "switchboard.model",
      format_item = M.format,
    }, function(choice)
      if choice then
        M.use(choice.id)
      end
    end)
  end)
end

return M
