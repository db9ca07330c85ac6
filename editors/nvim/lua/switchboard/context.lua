--- Editor text attached to a prompt: a selection (ask, `#selection`) or a whole buffer
--- (`#buffer`), as a fenced block under the file's name.
local M = {}

---@class switchboard.Target
---@field buf integer
---@field first integer? 1-based first line; nil: the whole buffer
---@field last integer?

---@param buf integer
---@return string
function M.file_label(buf)
  local name = vim.api.nvim_buf_get_name(buf)
  return name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
end

--- `text` fenced, with a fence longer than any it holds.
---@param text string
---@param filetype string
---@return string
function M.fenced(text, filetype)
  local longest = 2
  for ticks in text:gmatch("```+") do
    longest = math.max(longest, #ticks)
  end
  local fence = ("`"):rep(longest + 1)
  return table.concat({ fence .. filetype, text, fence }, "\n")
end

--- "From `file` (lines a-b):" and the text, or "File `file`:" and the whole buffer.
---@param target switchboard.Target
---@param text string? the exact text (a characterwise selection); default: the lines
---@return string
function M.block(target, text)
  local buf = target.buf
  local heading
  if target.first then
    local lines = target.first == target.last and ("line %d"):format(target.first)
      or ("lines %d-%d"):format(target.first, target.last)
    heading = ("From `%s` (%s):"):format(M.file_label(buf), lines)
    text = text
      or table.concat(vim.api.nvim_buf_get_lines(buf, target.first - 1, target.last, true), "\n")
  else
    heading = ("File `%s`:"):format(M.file_label(buf))
    text = text or table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, true), "\n")
  end
  return heading .. "\n\n" .. M.fenced(text, vim.bo[buf].filetype)
end

--- The last Visual selection in `buf` (its '< and '> marks), as whole lines.
---@param buf integer
---@return switchboard.Target?
function M.last_selection(buf)
  local first = vim.api.nvim_buf_get_mark(buf, "<")[1]
  local last = vim.api.nvim_buf_get_mark(buf, ">")[1]
  if first == 0 or last == 0 then
    return nil
  end
  local count = vim.api.nvim_buf_line_count(buf)
  return { buf = buf, first = math.min(first, count), last = math.min(last, count) }
end

return M
