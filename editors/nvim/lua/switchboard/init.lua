--- Switchboard for Neovim: one AI backend (the `switchboard serve` language server) for chat,
--- questions about a selection, completion at the cursor, sign-in, and token/cost totals.
local config = require("switchboard.config")

local M = {}

local KEYMAP_ACTIONS = {
  chat = { modes = { "n" }, rhs = "<Cmd>Switchboard chat<CR>", desc = "Switchboard: chat" },
  ask = {
    modes = { "x" },
    rhs = ":Switchboard ask<CR>",
    desc = "Switchboard: ask about the selection",
  },
  complete = {
    modes = { "n", "i" },
    rhs = "<Cmd>Switchboard complete<CR>",
    desc = "Switchboard: complete at the cursor",
  },
  model = {
    modes = { "n" },
    rhs = "<Cmd>Switchboard model<CR>",
    desc = "Switchboard: choose the model",
  },
}

local function set_keymaps()
  for action, lhs in pairs(config.keymaps()) do
    local keymap = KEYMAP_ACTIONS[action]
    vim.keymap.set(keymap.modes, lhs, keymap.rhs, { desc = keymap.desc, silent = true })
  end
end

--- Registers the server with vim.lsp.config/vim.lsp.enable (every filetype, one shared client).
--- Called again, it sends the new settings to the running server.
---@param opts switchboard.Options?
function M.setup(opts)
  local again = config.is_setup
  config.set(opts)
  local server = require("switchboard.server")
  server.register()
  if again then
    server.push_settings()
  end
  require("switchboard.statusline").track_progress()
  if vim.fn.exists(":Switchboard") ~= 2 then
    require("switchboard.commands").create()
  end
  set_keymaps()
  require("switchboard.inline").setup()
end

--- Session tokens and cost for a statusline ("12.4k tok · $0.031"), "" before the first answer.
--- lualine: `sections = { lualine_x = { "switchboard" } }` (lua/lualine/components/switchboard.lua).
---@return string
function M.statusline()
  return require("switchboard.statusline").render()
end

--- Sends `prompt` to the chat (opens it when `prompt` is nil).
---@param prompt string?
function M.chat(prompt)
  local chat = require("switchboard.chat")
  if prompt then
    chat.send(prompt)
  else
    chat.open()
  end
end

M.complete = function()
  require("switchboard.complete").start()
end

--- Ghost text on (true), off (false), or toggled (nil).
---@param on boolean?
M.ghost = function(on)
  local inline = require("switchboard.inline")
  if on == nil then
    inline.toggle()
  else
    inline.set_enabled(on)
  end
end

M.choose_model = function(id)
  require("switchboard.models").choose(id)
end

return M
