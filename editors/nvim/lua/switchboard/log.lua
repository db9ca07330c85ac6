--- `:Switchboard log`: the server's log file, in a split.
local config = require("switchboard.config")
local notify = require("switchboard.notify")

local M = {}

function M.open()
  local path = config.log_file()
  if not vim.uv.fs_stat(path) then
    notify.warn(("no log yet at %s (the server writes it once it has run)"):format(path))
    return
  end
  vim.cmd.split({ args = { path }, mods = { keepalt = true } })
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].readonly = true
  vim.bo[buf].autoread = true
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(buf), 0 })
end

return M
