--- vim.notify with the plugin's title, so messages say where they come from.
local M = {}

local function send(level)
  return function(message)
    vim.notify("Switchboard: " .. message, level, { title = "Switchboard" })
  end
end

M.info = send(vim.log.levels.INFO)
M.warn = send(vim.log.levels.WARN)
M.error = send(vim.log.levels.ERROR)

return M
