--- The server's `workspace/applyEdit` (what its code actions send): shown as a diff first.
---
--- Neovim answers a server's request from a coroutine, so the handler yields while the preview
--- is open and answers with what the user chose: `applied = false` with a reason on a reject.
local diff = require("switchboard.diff")

local M = {}

--- The one document a workspace edit changes, and its text edits; nil for anything else
--- (files created, renamed, several documents), which Neovim applies as it always does.
---@param edit lsp.WorkspaceEdit
---@return string? uri, lsp.TextEdit[]?, integer? version
local function single_document(edit)
  if edit.documentChanges then
    if #edit.documentChanges ~= 1 or edit.documentChanges[1].kind then
      return nil
    end
    local change = edit.documentChanges[1]
    return change.textDocument.uri, change.edits, change.textDocument.version
  end
  local uri, edits = next(edit.changes or {})
  if uri == nil or next(edit.changes, uri) ~= nil then
    return nil
  end
  return uri, edits
end

--- The lines `buf` would have after `text_edits`, worked out on a scratch copy.
---@param buf integer
---@param text_edits lsp.TextEdit[]
---@param encoding string
---@return string[]
local function after_edits(buf, text_edits, encoding)
  local copy = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(copy, 0, -1, true, vim.api.nvim_buf_get_lines(buf, 0, -1, true))
  vim.lsp.util.apply_text_edits(text_edits, copy, encoding)
  local lines = vim.api.nvim_buf_get_lines(copy, 0, -1, true)
  vim.api.nvim_buf_delete(copy, { force = true })
  return lines
end

---@param params lsp.ApplyWorkspaceEditParams
---@param ctx lsp.HandlerContext
---@return lsp.ApplyWorkspaceEditResult
function M.apply(_, params, ctx)
  local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
  local encoding = client.offset_encoding
  local uri, text_edits, version = single_document(params.edit)
  local co = coroutine.running()
  if uri == nil or co == nil or not require("switchboard.config").options.diff.preview then
    return vim.lsp.handlers["workspace/applyEdit"](nil, params, ctx)
  end
  local buf = vim.uri_to_bufnr(uri)
  vim.fn.bufload(buf)
  diff.propose({
    buf = buf,
    lines = after_edits(buf, text_edits or {}, encoding),
    title = params.label or "Switchboard: proposed change",
    on_done = function(accepted)
      vim.schedule(function()
        coroutine.resume(co, accepted)
      end)
    end,
  })
  local accepted = coroutine.yield()
  if not accepted then
    return { applied = false, failureReason = "rejected in the preview" }
  end
  if version and version > 0 and (vim.lsp.util.buf_versions[buf] or 0) > version then
    return { applied = false, failureReason = "the buffer changed while the preview was open" }
  end
  local ok, problem = pcall(vim.lsp.util.apply_workspace_edit, params.edit, encoding)
  if not ok then
    return { applied = false, failureReason = tostring(problem) }
  end
  return { applied = true }
end

return M
