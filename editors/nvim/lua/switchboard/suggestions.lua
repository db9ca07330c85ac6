--- `textDocument/inlineCompletion` (LSP 3.18) at a buffer position, and its items as plain
--- text to insert there. Ghost text and `:Switchboard complete` both ask through here.
local M = {}

M.METHOD = "textDocument/inlineCompletion"
M.INVOKED = 1
M.AUTOMATIC = 2

---@class switchboard.Suggestion
---@field text string     what goes in at the cursor (what was typed of it already cut off)
---@field end_col integer byte column on the cursor's row up to which text is replaced (>= the cursor)

---@param buf integer
---@param row integer 0-based
---@return string
local function line_at(buf, row)
  return vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
end

---@param item table lsp.InlineCompletionItem
---@return string
local function insert_text(item)
  local text = item.insertText
  if type(text) ~= "table" then
    return text or ""
  end
  -- A snippet (StringValue): its text without the tabstops.
  local ok, parsed = pcall(function()
    return tostring(require("vim.lsp._snippet_grammar").parse(text.value))
  end)
  return ok and parsed or text.value or ""
end

--- The items of an answer as text to insert at (row, col), cursor-relative. Items whose range
--- starts before the cursor keep only what follows the typed text (and are dropped when the
--- typed text differs); items spanning lines or starting after the cursor are dropped.
---@param result table? lsp.InlineCompletionList or lsp.InlineCompletionItem[]
---@param buf integer
---@param row integer 0-based
---@param col integer 0-based byte column
---@param encoding string the client's offset encoding
---@return switchboard.Suggestion[]
function M.from_result(result, buf, row, col, encoding)
  local items = type(result) == "table" and (result.items or result) or {}
  local line = line_at(buf, row)
  local found = {}
  for _, item in ipairs(items) do
    local text = insert_text(item)
    local start_col, end_col = col, col
    local range = item.range
    local usable = true
    if range then
      if range.start.line ~= row or range["end"].line ~= row then
        usable = false
      else
        start_col = vim.str_byteindex(line, encoding, range.start.character, false)
        end_col = vim.str_byteindex(line, encoding, range["end"].character, false)
      end
    end
    if usable and start_col < col then
      local typed = line:sub(start_col + 1, col)
      usable = vim.startswith(text, typed)
      text = text:sub(#typed + 1)
    elseif start_col > col then
      usable = false
    end
    if usable and text ~= "" then
      table.insert(found, { text = text, end_col = math.max(end_col, col) })
    end
  end
  return found
end

--- Sends the request for (row, col) of `buf`; `on_answer` gets the suggestions (or an error).
--- The pending didChange notifications go first (client:request flushes them).
---@param client vim.lsp.Client
---@param buf integer
---@param row integer 0-based
---@param col integer 0-based byte column
---@param trigger_kind integer M.INVOKED or M.AUTOMATIC
---@param on_answer fun(err: table?, suggestions: switchboard.Suggestion[])
---@return integer? request_id nil when the client is gone
function M.request(client, buf, row, col, trigger_kind, on_answer)
  local encoding = client.offset_encoding or "utf-16"
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = {
      line = row,
      character = vim.str_utfindex(line_at(buf, row), encoding, col, false),
    },
    context = { triggerKind = trigger_kind },
  }
  local ok, request_id = client:request(M.METHOD, params, function(err, result)
    if err then
      on_answer(err, {})
    elseif vim.api.nvim_buf_is_valid(buf) then
      on_answer(nil, M.from_result(result, buf, row, col, encoding))
    end
  end, buf)
  return ok and request_id or nil
end

--- Attaches `client` to `buf` when it is not yet (a buffer with no filetype), so the server has
--- the document. False when the buffer cannot be a document (no name, or a special buftype).
---@param client vim.lsp.Client
---@param buf integer
---@return boolean
function M.ensure_attached(client, buf)
  if client.attached_buffers[buf] then
    return true
  end
  if vim.bo[buf].buftype ~= "" or vim.api.nvim_buf_get_name(buf) == "" then
    return false
  end
  return vim.lsp.buf_attach_client(buf, client.id)
end

return M
