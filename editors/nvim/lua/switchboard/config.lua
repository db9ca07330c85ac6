local M = {}

---@class switchboard.Keymaps
---@field chat string|false?
---@field ask string|false?
---@field complete string|false?
---@field model string|false?

---@class switchboard.GhostKeys
---@field accept string|false?
---@field accept_word string|false?
---@field accept_line string|false?
---@field next string|false?
---@field prev string|false?
---@field dismiss string|false?
---@field suggest string|false?

---@class switchboard.GhostOptions
---@field enabled boolean           ghost text as you type (`:Switchboard ghost` toggles it)
---@field engine "auto"|"builtin"|"plugin"  auto: Neovim 0.12's vim.lsp.inline_completion, else the plugin's
---@field debounce_ms integer       the pause in typing before a suggestion is asked for
---@field keys switchboard.GhostKeys Insert-mode keys; false leaves one out

---@class switchboard.DiffOptions
---@field preview boolean  code actions' and chat code blocks' edits open a diff to accept first
---@field accept string    key in the preview that applies the edit
---@field reject string    key in the preview that drops it

---@class switchboard.Options
---@field cmd string[]              how to start the server
---@field cli_cmd string[]?         the CLI (`--version`, `doctor`); derived from `cmd` when nil
---@field cmd_env table<string,string>?
---@field settings table            defaultModel, fastModel, providers, logLevel
---@field model string?             the model chat uses; nil: the server's defaultModel
---@field complete_model string?    the completion model (ghost text and `complete`), sent as
---                                 settings.completion.model; nil: the server's choice
---@field fast_model string?        the server's fast model (settings.fastModel): completion uses
---                                 it when no completion model is set and no provider with
---                                 credentials fills in the middle
---@field diff switchboard.DiffOptions  the preview of edits before they are applied
---@field chat_keys {yank: string|false, apply: string|false}  chat-buffer keys for code blocks
---@field ghost boolean|switchboard.GhostOptions  false: no ghost text and no ghost keys
---@field chat_open string          the command that opens the chat window
---@field keymaps boolean|switchboard.Keymaps
---@field log_file string?          the server log; nil: derived from the data dir

---@type switchboard.Options
M.defaults = {
  cmd = { "switchboard", "serve" },
  cli_cmd = nil,
  cmd_env = nil,
  settings = {},
  model = nil,
  complete_model = nil,
  fast_model = nil,
  diff = { preview = true, accept = "ga", reject = "q" },
  chat_keys = { yank = "gy", apply = "ga" },
  ghost = {
    enabled = true,
    engine = "auto",
    debounce_ms = 30,
    -- copilot.vim's keys.
    keys = {
      accept = "<Tab>",
      accept_word = "<M-Right>",
      accept_line = "<M-C-Right>",
      next = "<M-]>",
      prev = "<M-[>",
      dismiss = "<C-]>",
      suggest = "<M-Bslash>",
    },
  },
  chat_open = "vsplit",
  keymaps = false,
  log_file = nil,
}

M.default_keymaps = {
  chat = "<leader>ac",
  ask = "<leader>aa",
  complete = "<leader>ai",
  model = "<leader>am",
}

---@type switchboard.Options
M.options = vim.deepcopy(M.defaults)
M.is_setup = false

---@param opts switchboard.Options?
function M.set(opts)
  opts = opts or {}
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- Lists replace, never merge by index.
  merged.cmd = opts.cmd or M.defaults.cmd
  merged.cli_cmd = opts.cli_cmd
  merged.settings = vim.deepcopy(opts.settings or {})
  if opts.ghost == false then
    merged.ghost = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults.ghost), { enabled = false })
    merged.ghost.keys = {}
  elseif opts.ghost == true then
    merged.ghost = vim.deepcopy(M.defaults.ghost)
  end
  M.options = merged
  M.is_setup = true
end

--- The command line of the CLI that `cmd` serves with: everything before "serve".
---@return string[]
function M.cli_cmd()
  if M.options.cli_cmd then
    return M.options.cli_cmd
  end
  local cmd = M.options.cmd
  for index, word in ipairs(cmd) do
    if word == "serve" then
      return vim.list_slice(cmd, 1, index - 1)
    end
  end
  return { cmd[1] }
end

local function server_env(name)
  local env = M.options.cmd_env or {}
  return env[name] or vim.env[name]
end

--- Where the server keeps its data: $SWITCHBOARD_DATA_DIR, else the platform's user data dir.
---@return string
function M.data_dir()
  local from_env = server_env("SWITCHBOARD_DATA_DIR")
  if from_env and from_env ~= "" then
    return vim.fs.normalize(from_env)
  end
  local home = vim.uv.os_homedir() or "~"
  local sysname = vim.uv.os_uname().sysname
  if sysname == "Darwin" then
    return vim.fs.joinpath(home, "Library", "Application Support", "switchboard")
  end
  if sysname:find("Windows") then
    return vim.fs.joinpath(vim.env.LOCALAPPDATA or home, "switchboard", "switchboard")
  end
  local data_home = server_env("XDG_DATA_HOME")
  if not data_home or data_home == "" then
    data_home = vim.fs.joinpath(home, ".local", "share")
  end
  return vim.fs.joinpath(data_home, "switchboard")
end

---@return string
function M.log_file()
  return M.options.log_file or vim.fs.joinpath(M.data_dir(), "logs", "switchboard.log")
end

--- The model chat and ask use (nil: the server's default).
---@return string?
function M.chat_model()
  return M.options.model
end

--- The completion model the plugin asks for (nil: the server's `[completion] model`, else its
--- default: a fill-in-the-middle model of a provider with credentials, else the fast model).
---@return string?
function M.complete_model()
  return M.options.complete_model
end

---@return switchboard.GhostOptions
function M.ghost()
  return M.options.ghost
end

--- The server settings setup() sends: `settings`, with `complete_model` as completion.model
--- and `fast_model` as fastModel.
---@return table?
function M.server_settings()
  local settings = vim.deepcopy(M.options.settings)
  if M.options.fast_model then
    settings.fastModel = M.options.fast_model
  end
  local model = M.complete_model()
  if model then
    settings.completion = vim.tbl_extend("force", settings.completion or {}, { model = model })
  end
  if next(settings) == nil then
    return nil
  end
  return settings
end

---@return table<string, string>
function M.keymaps()
  local keymaps = M.options.keymaps
  if keymaps == true then
    return vim.deepcopy(M.default_keymaps)
  end
  if type(keymaps) ~= "table" then
    return {}
  end
  local chosen = {}
  for action, default in pairs(M.default_keymaps) do
    local lhs = keymaps[action]
    if lhs == nil then
      chosen[action] = default
    elseif lhs then
      chosen[action] = lhs
    end
  end
  return chosen
end

return M
