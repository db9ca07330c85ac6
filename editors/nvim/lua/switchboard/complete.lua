--- `:Switchboard complete`: asks the server's completion (`textDocument/inlineCompletion`,
--- triggerKind Invoked, with the completion model: fill-in-the-middle where the model has it,
--- else a chat whose code fences and echoes the server strips) and inserts the suggestion at
--- the cursor, as one undo step.
---
--- While the request runs, <C-c> in that buffer stops it.
local notify = require("switchboard.notify")
local server = require("switchboard.server")
local suggestions = require("switchboard.suggestions")

local M = {}

local ns = vim.api.nvim_create_namespace("switchboard.complete")

---@class switchboard.Completion
---@field buf integer
---@field mark integer   extmark where the suggestion goes
---@field cancel fun()?

---@type table<integer, switchboard.Completion>
local running = {}

--- The insert position: between characters in insert mode, after the cursor's character otherwise.
---@return integer row, integer col
local function insert_position()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  row = row - 1
  local in_insert = vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
  local line = vim.api.nvim_buf_get_lines(0, row, row + 1, true)[1]
  if not in_insert and #line > 0 then
    local char = vim.fn.strpart(line, col, 1, true)
    col = math.min(#line, col + #char)
  end
  return row, col
end

---@param completion switchboard.Completion
local function finish(completion)
  if running[completion.buf] ~= completion then
    return
  end
  running[completion.buf] = nil
  if vim.api.nvim_buf_is_valid(completion.buf) then
    vim.api.nvim_buf_del_extmark(completion.buf, ns, completion.mark)
    pcall(vim.keymap.del, { "n", "i" }, "<C-c>", { buffer = completion.buf })
  end
end

--- Puts `suggestion` in at the completion's mark and the cursor after it, if the window shows it.
---@param completion switchboard.Completion
---@param suggestion switchboard.Suggestion
---@param replaced integer how many bytes after the mark the suggestion replaces
local function insert(completion, suggestion, replaced)
  local buf = completion.buf
  local row, col = unpack(vim.api.nvim_buf_get_extmark_by_id(buf, ns, completion.mark, {}))
  local lines = vim.split(suggestion.text, "\n", { plain = true })
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, true)[1]
  vim.api.nvim_buf_set_text(buf, row, col, row, math.min(col + replaced, #line), lines)
  if vim.api.nvim_get_current_buf() == buf then
    local last_row = row + #lines - 1
    local last_col = (#lines == 1 and col or 0) + #lines[#lines]
    local in_insert = vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
    local cursor_col = in_insert and last_col or math.max(0, last_col - 1)
    vim.api.nvim_win_set_cursor(0, { last_row + 1, cursor_col })
  end
end

--- Stops the completion asked for in `buf` (default: the current buffer).
---@param buf integer?
function M.cancel(buf)
  local completion = running[buf or vim.api.nvim_get_current_buf()]
  if not completion then
    return
  end
  if completion.cancel then
    completion.cancel()
  end
  finish(completion)
end

---@return boolean
function M.is_running(buf)
  return running[buf or vim.api.nvim_get_current_buf()] ~= nil
end

function M.start()
  local buf = vim.api.nvim_get_current_buf()
  if running[buf] then
    notify.warn("a completion is already on its way here; <C-c> stops it")
    return
  end
  local row, col = insert_position()
  ---@type switchboard.Completion
  local completion = { buf = buf, mark = vim.api.nvim_buf_set_extmark(buf, ns, row, col, {}) }
  ---@return integer row, integer col
  local function at_mark()
    return unpack(vim.api.nvim_buf_get_extmark_by_id(buf, ns, completion.mark, {}))
  end
  running[buf] = completion
  vim.keymap.set({ "n", "i" }, "<C-c>", function()
    M.cancel(buf)
  end, { buffer = buf, desc = "Switchboard: stop the completion" })
  server.with_client(function(client)
    if running[buf] ~= completion then
      return
    end
    if not suggestions.ensure_attached(client, buf) then
      finish(completion)
      notify.error("complete works in a file's buffer: write this one to a file first")
      return
    end
    local asked_row, asked_col = at_mark()
    local request_id = suggestions.request(
      client,
      buf,
      asked_row,
      asked_col,
      suggestions.INVOKED,
      function(err, found)
        if running[buf] ~= completion then
          return
        end
        if err then
          finish(completion)
          if err.code ~= server.REQUEST_CANCELLED then
            notify.error("completion failed: " .. server.describe_error(err))
          end
          return
        end
        if #found == 0 then
          finish(completion)
          notify.info("no completion here (see :Switchboard log if one was expected)")
          return
        end
        insert(completion, found[1], found[1].end_col - asked_col)
        finish(completion)
      end
    )
    if not request_id then
      finish(completion)
      notify.error("the server is not running")
      return
    end
    completion.cancel = function()
      client:cancel_request(request_id)
    end
  end, function()
    finish(completion)
  end)
end

return M
