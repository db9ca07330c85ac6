--- Ghost text through Neovim 0.12's built-in `vim.lsp.inline_completion`, in the buffers the
--- switchboard client is attached to. It has the plugin engine's interface (switchboard.ghost)
--- where the built-in offers the same: accept and cycle. Accepting a word or a line and
--- dismissing are the plugin engine's own (`ghost.engine = "plugin"`).
local server = require("switchboard.server")

local M = {}

local group = vim.api.nvim_create_augroup("switchboard.ghost_builtin", { clear = true })
local enabled = false

---@return boolean
function M.available()
  return vim.fn.has("nvim-0.12") == 1 and vim.lsp.inline_completion ~= nil
end

--- The buffers the switchboard client is attached to.
---@return integer[]
local function attached_buffers()
  local buffers = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = server.name })) do
    vim.list_extend(buffers, vim.tbl_keys(client.attached_buffers))
  end
  return buffers
end

---@param on boolean
---@param buf integer
local function set(on, buf)
  vim.lsp.inline_completion.enable(on, { bufnr = buf })
end

function M.enable()
  enabled = true
  vim.api.nvim_clear_autocmds({ group = group })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == server.name then
        set(true, args.buf)
      end
    end,
  })
  for _, buf in ipairs(attached_buffers()) do
    set(true, buf)
  end
end

function M.disable()
  enabled = false
  vim.api.nvim_clear_autocmds({ group = group })
  for _, buf in ipairs(attached_buffers()) do
    set(false, buf)
  end
end

---@return boolean
function M.is_enabled()
  return enabled
end

--- Accepts the suggestion on show; false when there is none. Only the whole suggestion:
--- the built-in has no partial accept.
---@return boolean
function M.accept(kind)
  if kind and kind ~= "all" then
    return false
  end
  return vim.lsp.inline_completion.get() == true
end

---@param count integer
---@return boolean
function M.cycle(count)
  vim.lsp.inline_completion.select({ count = count })
  return true
end

function M.dismiss()
  return false
end

function M.request()
  vim.lsp.inline_completion.get()
end

---@return boolean
function M.visible()
  return false -- unknown to us: accept() reports whether something was on show
end

return M
