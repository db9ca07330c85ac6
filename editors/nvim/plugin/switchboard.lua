-- The :Switchboard command exists from startup; the server is registered by
-- require("switchboard").setup(), or on the first :Switchboard command with the defaults.
if vim.g.loaded_switchboard then
  return
end
vim.g.loaded_switchboard = true

require("switchboard.commands").create()
