--- Session tokens and cost for any statusline, from switchboard/usageChanged.
local M = {}

---@class switchboard.Totals
---@field requests integer
---@field inputTokens integer
---@field outputTokens integer
---@field cacheReadInputTokens integer
---@field cacheCreationInputTokens integer
---@field costUsd number

---@type {session: switchboard.Totals?, last: table?}
M.usage = { session = nil, last = nil }

---@type table<string|integer, true>
local streaming = {}

---@param count integer
---@return string
function M.format_tokens(count)
  if count < 1000 then
    return ("%d tok"):format(count)
  end
  if count < 1000000 then
    return ("%.1fk tok"):format(count / 1000)
  end
  return ("%.1fM tok"):format(count / 1000000)
end

---@param usd number
---@return string
function M.format_cost(usd)
  if usd >= 1 then
    return ("$%.2f"):format(usd)
  end
  if usd >= 0.01 or usd == 0 then
    return ("$%.3f"):format(usd)
  end
  if usd < 0.0001 then
    return "<$0.0001"
  end
  return ("$%.4f"):format(usd)
end

---@param totals switchboard.Totals
---@return string
function M.format_totals(totals)
  local tokens = (totals.inputTokens or 0) + (totals.outputTokens or 0)
  return ("%s · %s"):format(M.format_tokens(tokens), M.format_cost(totals.costUsd or 0))
end

---@param params {session: switchboard.Totals, last: table}
function M.update(params)
  M.usage = { session = params.session, last = params.last }
  vim.api.nvim_exec_autocmds("User", { pattern = "SwitchboardUsageChanged", data = params })
  vim.cmd.redrawstatus({ bang = true })
end

---@return boolean
function M.is_streaming()
  return next(streaming) ~= nil
end

--- "12.4k tok · $0.031", with "⋯ " in front while a request streams; "" before any usage.
---@return string
function M.render()
  local text = M.usage.session and M.format_totals(M.usage.session) or ""
  if M.is_streaming() then
    return text == "" and "⋯" or ("⋯ " .. text)
  end
  return text
end

--- Follows the server's work-done progress (the same LspProgress that fidget.nvim shows).
function M.track_progress()
  local group = vim.api.nvim_create_augroup("switchboard.statusline", { clear = true })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    pattern = { "begin", "end" },
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= require("switchboard.server").name then
        return
      end
      local params = args.data.params
      streaming[params.token] = params.value.kind == "begin" or nil
      vim.cmd.redrawstatus({ bang = true })
    end,
  })
end

return M
