--- Insert-mode keys for ghost text. Each key acts when a suggestion shows and otherwise does what
--- it did before setup(): the global Insert-mode mapping it had (moved to a <Plug> key), or the
--- key itself, unmapped (so <Tab> still indents, with 'expandtab' and 'softtabstop').
local suggestions = require("switchboard.suggestions")

local M = {}

-- The description of a fallback that is the key itself (no mapping was there to keep).
local THE_KEY_ITSELF = "the key itself"

---@class switchboard.GhostAction
---@field desc string
---@field run fun(engine: table): boolean?
---@field always boolean?     acts even when nothing shows (no fallback)
---@field new_undo boolean?   inserts text: starts its own undo step

---@type table<string, switchboard.GhostAction>
M.actions = {
  accept = {
    desc = "accept the suggestion",
    run = function(engine)
      return engine.accept("all")
    end,
    new_undo = true,
  },
  accept_word = {
    desc = "accept the suggestion's next word",
    run = function(engine)
      return engine.accept("word")
    end,
    new_undo = true,
  },
  accept_line = {
    desc = "accept the suggestion's next line",
    run = function(engine)
      return engine.accept("line")
    end,
    new_undo = true,
  },
  next = {
    desc = "next suggestion",
    run = function(engine)
      return engine.cycle(1)
    end,
  },
  prev = {
    desc = "previous suggestion",
    run = function(engine)
      return engine.cycle(-1)
    end,
  },
  dismiss = {
    desc = "dismiss the suggestion",
    run = function(engine)
      return engine.dismiss()
    end,
  },
  suggest = {
    desc = "suggest at the cursor now",
    run = function(engine)
      engine.request(suggestions.INVOKED)
      return true
    end,
    always = true,
  },
}

local function engine()
  return require("switchboard.inline").engine()
end

---@param action string
---@return string
local function act_key(action)
  return ("<Plug>(switchboard-ghost-%s)"):format(action:gsub("_", "-"))
end

---@param action string
---@return string
local function fallback_key(action)
  return ("<Plug>(switchboard-ghost-%s-fallback)"):format(action:gsub("_", "-"))
end

--- Runs an action (the <Plug> keys' target, outside the key's textlock).
---@param action string
function M.run(action)
  M.actions[action].run(engine())
end

---@param lhs string
---@return table? the global Insert-mode mapping of `lhs`, as maparg() gives it
local function global_mapping(lhs)
  local wanted = vim.keycode(lhs)
  for _, mapping in ipairs(vim.api.nvim_get_keymap("i")) do
    if vim.keycode(mapping.lhs) == wanted then
      return mapping
    end
  end
end

--- Maps `lhs` in Insert mode as `mapping` (from nvim_get_keymap) was mapped.
---@param mapping table
---@param lhs string
local function copy_mapping(mapping, lhs)
  local expr = mapping.expr == 1
  vim.api.nvim_set_keymap("i", lhs, mapping.rhs or "", {
    callback = mapping.callback,
    desc = mapping.desc,
    expr = expr,
    noremap = mapping.noremap == 1,
    nowait = mapping.nowait == 1,
    silent = mapping.silent == 1,
    replace_keycodes = expr and mapping.replace_keycodes == 1 or nil,
  })
end

--- Gives the key's fallback <Plug> the mapping `lhs` had, or `lhs` itself, unmapped.
---@param lhs string
---@param fallback string
local function keep_original(lhs, fallback)
  local original = global_mapping(lhs)
  if original and (original.desc or ""):find("^Switchboard:") then
    return -- ours, from an earlier setup(): the fallback is already in place
  end
  if original then
    copy_mapping(original, fallback)
  else
    vim.keymap.set("i", fallback, lhs, { remap = false, desc = THE_KEY_ITSELF })
  end
end

--- The key's expression: what runs, the action or the fallback.
---@param action string
---@return fun(): string
local function choose(action)
  local spec = M.actions[action]
  return function()
    local current = engine()
    if current == require("switchboard.ghost") then
      return (spec.always or current.visible()) and act_key(action) or fallback_key(action)
    end
    -- The built-in engine knows only by trying (it defers its own buffer changes).
    return spec.run(current) and "" or fallback_key(action)
  end
end

---@type table<string, string>
local mapped = {}

--- Maps each action to its key (false: none), keeping what the keys did before.
---@param keys table<string, string|false>
function M.set(keys)
  for action, lhs in pairs(mapped) do
    if keys[action] ~= lhs then
      pcall(vim.keymap.del, "i", lhs)
      local fallback = global_mapping(fallback_key(action))
      if fallback and fallback.desc ~= THE_KEY_ITSELF then
        copy_mapping(fallback, lhs) -- the mapping it had comes back
      end
      pcall(vim.keymap.del, "i", fallback_key(action))
      mapped[action] = nil
    end
  end
  for action, spec in pairs(M.actions) do
    local lhs = keys[action]
    if lhs then
      local run = ('<Cmd>lua require("switchboard.ghost_keys").run(%q)<CR>'):format(action)
      -- <C-g>u: accepted text is an undo step of its own, apart from the typing around it.
      local undo_break = spec.new_undo and "<C-g>u" or ""
      vim.keymap.set("i", act_key(action), undo_break .. run .. undo_break, {
        remap = false,
        desc = "Switchboard: " .. spec.desc,
      })
      if not spec.always then
        keep_original(lhs, fallback_key(action))
      end
      vim.keymap.set("i", lhs, choose(action), {
        expr = true,
        remap = true,
        silent = true,
        desc = "Switchboard: " .. spec.desc,
      })
      mapped[action] = lhs
    end
  end
end

return M
