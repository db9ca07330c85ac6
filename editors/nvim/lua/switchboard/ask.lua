--- `:'<,'>Switchboard ask [question]`: asks the chat about the selection, with its file name.
local chat = require("switchboard.chat")
local context = require("switchboard.context")
local notify = require("switchboard.notify")

local M = {}

---@class switchboard.Selection
---@field text string
---@field first integer 1-based line
---@field last integer

--- The selected text: exact for a characterwise selection of these lines, else whole lines.
---@param first integer 1-based
---@param last integer
---@return switchboard.Selection
function M.selection(first, last)
  local from, to = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  local mode = vim.fn.visualmode()
  if from[2] == first and to[2] == last and (mode == "v" or mode == "\22") then
    local lines = vim.fn.getregion(from, to, { type = mode })
    return { text = table.concat(lines, "\n"), first = first, last = last }
  end
  local lines = vim.api.nvim_buf_get_lines(0, first - 1, last, true)
  return { text = table.concat(lines, "\n"), first = first, last = last }
end

---@param question string
---@param selection switchboard.Selection
---@param buf integer
---@return string
function M.prompt(question, selection, buf)
  local target = { buf = buf, first = selection.first, last = selection.last }
  return question .. "\n\n" .. context.block(target, selection.text)
end

---@param question string?
---@param first integer 1-based line
---@param last integer
function M.ask(question, first, last)
  local buf = vim.api.nvim_get_current_buf()
  if chat.is_chat(buf) or first < 1 then
    notify.warn("select text in a file to ask about it")
    return
  end
  local selection = M.selection(first, last)
  local function send(text)
    if text and vim.trim(text) ~= "" then
      chat.set_target({ buf = buf, first = selection.first, last = selection.last })
      chat.send(M.prompt(vim.trim(text), selection, buf))
    end
  end
  if question and question ~= "" then
    return send(question)
  end
  vim.ui.input({ prompt = "Ask about the selection: " }, send)
end

return M
