--- `:Switchboard usage`: the session's totals per model (switchboard/usage) in a float.
local server = require("switchboard.server")
local statusline = require("switchboard.statusline")

local M = {}

---@param totals table Totals
---@return string
local function describe(totals)
  local cache_read = totals.cacheReadInputTokens or 0
  local cache_write = totals.cacheCreationInputTokens or 0
  local text = ("%d requests · %d in · %d out"):format(
    totals.requests or 0,
    totals.inputTokens or 0,
    totals.outputTokens or 0
  )
  if cache_read + cache_write > 0 then
    text = text .. (" (cache: %d read, %d written)"):format(cache_read, cache_write)
  end
  return text .. " · " .. statusline.format_cost(totals.costUsd or 0)
end

---@param usage table {session, byModel}
---@return string[]
function M.lines(usage)
  local lines = { "Session: " .. describe(usage.session), "" }
  for _, model in ipairs(usage.byModel or {}) do
    table.insert(lines, ("%s: %s"):format(model.model, describe(model)))
  end
  if #lines == 2 then
    table.insert(lines, "No requests yet.")
  end
  return lines
end

---@param lines string[]
---@return integer buf, integer win
function M.show_float(lines)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  local width = 0
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor",
    width = math.min(width + 2, math.max(20, vim.o.columns - 4)),
    height = #lines,
    row = math.floor((vim.o.lines - #lines) / 2),
    col = math.floor((vim.o.columns - width) / 2),
    style = "minimal",
    border = "rounded",
    title = " Switchboard usage ",
    title_pos = "center",
  })
  for _, lhs in ipairs({ "q", "<Esc>" }) do
    vim.keymap.set("n", lhs, function()
      vim.api.nvim_win_close(win, true)
    end, { buffer = buf, nowait = true })
  end
  return buf, win
end

function M.show()
  server.request("switchboard/usage", vim.empty_dict(), function(usage)
    M.show_float(M.lines(usage))
  end)
end

return M
