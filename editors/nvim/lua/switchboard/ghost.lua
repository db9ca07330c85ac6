--- Ghost text drawn by the plugin (Neovim 0.11; on 0.12+ with `ghost.engine = "plugin"`).
---
--- In Insert mode, once typing pauses for `ghost.debounce_ms`, the server is asked for
--- `textDocument/inlineCompletion` at the cursor (a newer request cancels the one in flight).
--- The answer shows as an extmark: the first line inline at the cursor, further lines as
--- virtual lines. Typing what it starts with keeps it (shortened); any other change, a cursor
--- move or leaving Insert mode clears it. Accepting inserts it as one undo step, verbatim, so
--- the suggestion's own indentation stays.
local config = require("switchboard.config")
local server = require("switchboard.server")
local suggestions = require("switchboard.suggestions")

local M = {}

M.HL_TEXT = "SwitchboardGhostText"
M.HL_COUNT = "SwitchboardGhostCount"

local ns = vim.api.nvim_create_namespace("switchboard.ghost")
local group = vim.api.nvim_create_augroup("switchboard.ghost", { clear = true })

---@class switchboard.Ghost
---@field buf integer
---@field row integer 0-based
---@field col integer 0-based byte column of the cursor
---@field before string the line's text before the cursor
---@field after string the line's text after the cursor
---@field tick integer b:changedtick when it was shown
---@field items switchboard.Suggestion[]
---@field index integer
---@field mark integer?

---@type switchboard.Ghost?
local shown = nil
---@type {client: vim.lsp.Client, id: integer}?
local in_flight = nil
local timer = nil
local enabled = false
-- Every request and every clear starts a new generation; an answer from an older one is dropped.
local generation = 0
local make_autocmds -- (defined below, with the autocommands' callbacks)

---@return boolean
function M.is_enabled()
  return enabled
end

--- Whether a suggestion shows in the current buffer (and the buffer has not changed under it).
---@return boolean
function M.visible()
  local buf = vim.api.nvim_get_current_buf()
  return shown ~= nil and shown.buf == buf and shown.tick == vim.api.nvim_buf_get_changedtick(buf)
end

local function cancel_request()
  if timer then
    timer:stop()
  end
  if in_flight then
    in_flight.client:cancel_request(in_flight.id)
    in_flight = nil
  end
end

--- Removes the ghost text (the request in flight, if any, stays).
local function erase()
  if shown and vim.api.nvim_buf_is_valid(shown.buf) then
    vim.api.nvim_buf_clear_namespace(shown.buf, ns, 0, -1)
  end
  shown = nil
end

--- Clears the ghost text and stops any request for it.
function M.clear()
  generation = generation + 1
  cancel_request()
  erase()
end

local function render()
  local ghost = assert(shown)
  local lines = vim.split(ghost.items[ghost.index].text, "\n", { plain = true })
  local chunks = {}
  for index, line in ipairs(lines) do
    chunks[index] = { { line, M.HL_TEXT } }
  end
  if #ghost.items > 1 then
    table.insert(chunks[#chunks], { (" (%d/%d)"):format(ghost.index, #ghost.items), M.HL_COUNT })
  end
  local opts = { id = ghost.mark, hl_mode = "combine", right_gravity = false }
  if lines[1] ~= "" or #chunks[1] > 1 then
    opts.virt_text = chunks[1]
    opts.virt_text_pos = "inline"
  end
  if #chunks > 1 then
    opts.virt_lines = vim.list_slice(chunks, 2)
  end
  ghost.mark = vim.api.nvim_buf_set_extmark(ghost.buf, ns, ghost.row, ghost.col, opts)
end

---@param buf integer
---@param row integer
---@param col integer
---@param items switchboard.Suggestion[]
local function show(buf, row, col, items)
  make_autocmds()
  erase()
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, true)[1]
  shown = {
    buf = buf,
    row = row,
    col = col,
    before = line:sub(1, col),
    after = line:sub(col + 1),
    tick = vim.api.nvim_buf_get_changedtick(buf),
    items = items,
    index = 1,
  }
  render()
end

---@return integer row, integer col  0-based, the byte column where Insert mode puts the next key
local function cursor()
  local position = vim.api.nvim_win_get_cursor(0)
  return position[1] - 1, position[2]
end

---@param buf integer
---@return vim.lsp.Client?
local function attached_client(buf)
  local client = server.ready_client()
  if client and client.attached_buffers[buf] then
    return client
  end
end

local function in_insert_mode()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == "i"
end

--- Asks for a suggestion at the cursor now.
---@param trigger_kind integer?
function M.request(trigger_kind)
  cancel_request()
  local buf = vim.api.nvim_get_current_buf()
  local client = attached_client(buf)
  if not client then
    return
  end
  local row, col = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  generation = generation + 1
  local mine = generation
  local id = suggestions.request(
    client,
    buf,
    row,
    col,
    trigger_kind or suggestions.AUTOMATIC,
    function(err, items)
      if mine ~= generation then
        return -- superseded or cleared
      end
      in_flight = nil
      if err or #items == 0 or not in_insert_mode() then
        return
      end
      local now_row, now_col = cursor()
      local unchanged = vim.api.nvim_get_current_buf() == buf
        and vim.api.nvim_buf_get_changedtick(buf) == tick
        and now_row == row
        and now_col == col
      if unchanged then
        show(buf, row, col, items)
      end
    end
  )
  if id then
    in_flight = { client = client, id = id }
  end
end

--- After the debounce, asks for a suggestion where the cursor is then.
local function request_soon()
  cancel_request()
  timer = timer or assert(vim.uv.new_timer())
  local buf = vim.api.nvim_get_current_buf()
  timer:start(
    config.ghost().debounce_ms,
    0,
    vim.schedule_wrap(function()
      if enabled and in_insert_mode() and vim.api.nvim_get_current_buf() == buf then
        M.request(suggestions.AUTOMATIC)
      end
    end)
  )
end

--- The user typed the start of the suggestion (or nothing changed): keep the rest on show.
---@return boolean
local function typed_through()
  local ghost = shown
  if not ghost or ghost.buf ~= vim.api.nvim_get_current_buf() then
    return false
  end
  local row, col = cursor()
  if row ~= ghost.row or col < ghost.col then
    return false
  end
  local line = vim.api.nvim_buf_get_lines(ghost.buf, row, row + 1, true)[1]
  if line:sub(1, ghost.col) ~= ghost.before or line:sub(col + 1) ~= ghost.after then
    return false
  end
  local typed = line:sub(ghost.col + 1, col)
  local remaining = {}
  for index, item in ipairs(ghost.items) do
    if vim.startswith(item.text, typed) and #item.text > #typed then
      local rest = { text = item.text:sub(#typed + 1), end_col = item.end_col + #typed }
      table.insert(remaining, rest)
      if index == ghost.index then
        ghost.index = #remaining
      end
    end
  end
  if #remaining == 0 then
    return false
  end
  ghost.items = remaining
  ghost.index = math.min(ghost.index, #remaining)
  ghost.col, ghost.before = col, line:sub(1, col)
  ghost.tick = vim.api.nvim_buf_get_changedtick(ghost.buf)
  render()
  return true
end

local function on_text_changed()
  if typed_through() then
    return
  end
  M.clear()
  if enabled then
    request_soon()
  end
end

local function on_cursor_moved()
  local ghost = shown
  local buf = vim.api.nvim_get_current_buf()
  if ghost and ghost.buf == buf and ghost.tick ~= vim.api.nvim_buf_get_changedtick(buf) then
    return -- typing moved it: TextChangedI decides
  end
  if ghost then
    local row, col = cursor()
    if ghost.buf == buf and row == ghost.row and col == ghost.col then
      return
    end
  end
  M.clear()
end

---@param text string
---@param kind "all"|"word"|"line"
---@return string
local function piece_of(text, kind)
  if kind == "word" then
    return text:match("^[ \t]*[%w_]+")
      or text:match("^[ \t]*[^%w_%s]+")
      or text:match("^\r?\n[ \t]*")
      or text:match("^%s+")
      or text
  end
  if kind == "line" then
    return text:match("^\r?\n[^\n]*") or text:match("^[^\n]+") or text
  end
  return text
end

--- Inserts the suggestion on show, or its next word or line, at the cursor (one undo step);
--- the rest of a partly accepted suggestion stays on show.
---@param kind "all"|"word"|"line"|nil
---@return boolean accepted false when nothing was on show here
function M.accept(kind)
  local ghost = shown
  if not ghost or not M.visible() then
    return false
  end
  local item = ghost.items[ghost.index]
  local piece = piece_of(item.text, kind or "all")
  local whole = piece == item.text
  local lines = vim.split(piece, "\n", { plain = true })
  local end_col = whole and item.end_col or ghost.col
  generation = generation + 1
  cancel_request()
  erase()
  vim.api.nvim_buf_set_text(ghost.buf, ghost.row, ghost.col, ghost.row, end_col, lines)
  local row = ghost.row + #lines - 1
  local col = (#lines == 1 and ghost.col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  if not whole then
    local rest = { text = item.text:sub(#piece + 1), end_col = col + item.end_col - ghost.col }
    show(ghost.buf, row, col, { rest })
  end
  return true
end

--- Shows the next (count 1) or previous (-1) suggestion when the server gave several.
---@param count integer
---@return boolean
function M.cycle(count)
  local ghost = shown
  if not ghost or not M.visible() then
    return false
  end
  ghost.index = (ghost.index - 1 + count) % #ghost.items + 1
  render()
  return true
end

--- Hides the suggestion on show.
---@return boolean dismissed false when there was none
function M.dismiss()
  local was = M.visible()
  M.clear()
  return was
end

--- Shows `items` at the cursor as the server's answer would be shown. The server answers one
--- suggestion at a time; other sources of suggestions (and the test of cycling) can give several.
---@param items switchboard.Suggestion[]
function M.show_at_cursor(items)
  local row, col = cursor()
  show(vim.api.nvim_get_current_buf(), row, col, items)
end

local function define_highlights()
  vim.api.nvim_set_hl(0, M.HL_TEXT, { link = "Comment", default = true })
  vim.api.nvim_set_hl(0, M.HL_COUNT, { link = "NonText", default = true })
end

local autocmds_made = false

--- The autocommands that follow typing: they ask only while enabled, and clear what shows
--- (also a suggestion asked for with the `suggest` key while ghost text is off).
make_autocmds = function()
  if autocmds_made then
    return
  end
  autocmds_made = true
  define_highlights()
  vim.api.nvim_create_autocmd("TextChangedI", { group = group, callback = on_text_changed })
  vim.api.nvim_create_autocmd("CursorMovedI", { group = group, callback = on_cursor_moved })
  vim.api.nvim_create_autocmd(
    { "InsertLeave", "BufLeave", "TextChangedP" },
    { group = group, callback = M.clear }
  )
  vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = define_highlights })
end

function M.enable()
  enabled = true
  make_autocmds()
end

function M.disable()
  enabled = false
  M.clear()
end

return M
