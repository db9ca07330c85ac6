--- `:Switchboard complete`: streams the model's continuation into the buffer at the cursor.
---
--- While it streams, <C-c> in that buffer stops it and keeps what arrived.
local config = require("switchboard.config")
local notify = require("switchboard.notify")
local server = require("switchboard.server")

local M = {}

local ns = vim.api.nvim_create_namespace("switchboard.complete")
local CURSOR = "<|cursor|>"
local CONTEXT_LINES_BEFORE = 200
local CONTEXT_LINES_AFTER = 50
local SYSTEM = table.concat({
  "You complete text in a code editor.",
  ("The user sends the text around the cursor, marked %s."):format(CURSOR),
  "Reply with only the text to insert at the cursor: no explanation, no code fences,",
  "nothing that repeats the text before or after the cursor.",
}, " ")

---@class switchboard.Completion
---@field buf integer
---@field mark integer   extmark where the next piece goes
---@field stream switchboard.Stream?
---@field inserted boolean  one undo step for the whole completion

---@type table<integer, switchboard.Completion>
local running = {}

---@param buf integer
---@param row integer 0-based
---@param col integer 0-based byte column
---@return string
local function prompt_around(buf, row, col)
  local first = math.max(0, row - CONTEXT_LINES_BEFORE)
  local before = vim.api.nvim_buf_get_text(buf, first, 0, row, col, {})
  local last = math.min(vim.api.nvim_buf_line_count(buf), row + 1 + CONTEXT_LINES_AFTER) - 1
  local last_line = vim.api.nvim_buf_get_lines(buf, last, last + 1, true)[1]
  local after = vim.api.nvim_buf_get_text(buf, row, col, last, #last_line, {})
  local name = vim.api.nvim_buf_get_name(buf)
  local header = ("File: %s (%s)"):format(
    name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]",
    vim.bo[buf].filetype ~= "" and vim.bo[buf].filetype or "text"
  )
  return header .. "\n\n" .. table.concat(before, "\n") .. CURSOR .. table.concat(after, "\n")
end

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
---@param text string
local function insert(completion, text)
  local buf = completion.buf
  local row, col = unpack(vim.api.nvim_buf_get_extmark_by_id(buf, ns, completion.mark, {}))
  local lines = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_call(buf, function()
    if completion.inserted then
      pcall(vim.cmd.undojoin)
    end
    vim.api.nvim_buf_set_text(buf, row, col, row, col, lines)
  end)
  completion.inserted = true
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  vim.api.nvim_buf_set_extmark(buf, ns, end_row, end_col, { id = completion.mark })
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

--- Stops the completion streaming into `buf` (default: the current buffer), keeping its text.
---@param buf integer?
function M.cancel(buf)
  local completion = running[buf or vim.api.nvim_get_current_buf()]
  if not completion then
    return
  end
  if completion.stream then
    completion.stream.cancel()
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
    notify.warn("a completion is already streaming here; <C-c> stops it")
    return
  end
  local row, col = insert_position()
  local completion = {
    buf = buf,
    mark = vim.api.nvim_buf_set_extmark(buf, ns, row, col, {}),
    inserted = false,
  }
  running[buf] = completion
  vim.keymap.set({ "n", "i" }, "<C-c>", function()
    M.cancel(buf)
  end, { buffer = buf, desc = "Switchboard: stop the completion" })
  local params = {
    model = config.complete_model(),
    system = SYSTEM,
    messages = { { role = "user", content = prompt_around(buf, row, col) } },
  }
  server.with_client(function(client)
    if running[buf] ~= completion then
      return
    end
    completion.stream = server.stream(client, "switchboard/chat", params, {
      on_events = function(events)
        if running[buf] ~= completion or not vim.api.nvim_buf_is_valid(buf) then
          return
        end
        for _, event in ipairs(events) do
          if event.type == "text" then
            insert(completion, event.text)
          end
        end
      end,
      on_done = function(err)
        if running[buf] ~= completion then
          return
        end
        finish(completion)
        if err and err.code ~= server.REQUEST_CANCELLED then
          notify.error("completion failed: " .. server.describe_error(err))
        end
      end,
    })
  end, function()
    finish(completion)
  end)
end

return M
