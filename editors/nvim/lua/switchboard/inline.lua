--- Ghost text as you type: chooses the engine, turns it on and off, and sets its keys.
---
--- Engines: Neovim 0.12's built-in `vim.lsp.inline_completion` (switchboard.ghost_builtin), or
--- the plugin's own extmarks (switchboard.ghost), which Neovim 0.11 needs.
local config = require("switchboard.config")
local notify = require("switchboard.notify")

local M = {}

---@return "builtin"|"plugin"
function M.engine_name()
  local wanted = config.ghost().engine
  if wanted == "plugin" then
    return "plugin"
  end
  local builtin = require("switchboard.ghost_builtin").available()
  if wanted == "builtin" and not builtin then
    notify.warn("ghost.engine = 'builtin' needs Neovim 0.12+; using the plugin's ghost text")
  end
  return builtin and "builtin" or "plugin"
end

local chosen = nil

--- The engine in use (switchboard.ghost or switchboard.ghost_builtin).
function M.engine()
  if not chosen then
    local name = M.engine_name()
    chosen = require(name == "builtin" and "switchboard.ghost_builtin" or "switchboard.ghost")
  end
  return chosen
end

--- From setup(): the engine on (unless `ghost.enabled = false`) and the keys set.
function M.setup()
  local wanted = M.engine_name() == "builtin" and "switchboard.ghost_builtin" or "switchboard.ghost"
  if chosen and chosen ~= require(wanted) then
    chosen.disable()
  end
  chosen = require(wanted)
  require("switchboard.ghost_keys").set(config.ghost().keys or {})
  if config.ghost().enabled then
    M.engine().enable()
  else
    M.engine().disable()
  end
end

---@return boolean
function M.is_enabled()
  return M.engine().is_enabled()
end

---@param on boolean
function M.set_enabled(on)
  if on then
    M.engine().enable()
  else
    M.engine().disable()
  end
  notify.info(("ghost text %s"):format(on and "on" or "off"))
end

function M.toggle()
  M.set_enabled(not M.is_enabled())
end

return M
