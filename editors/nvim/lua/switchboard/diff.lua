--- A proposed change to a buffer, shown as a diff in its own tab before it is applied.
---
--- Left: the buffer as it is; right: as it would be. In either window the accept key (default
--- `ga`) applies it and the reject key (default `q`) drops it; closing the tab rejects it too.
local config = require("switchboard.config")

local M = {}

---@class switchboard.Proposal
---@field buf integer           the buffer the change is for
---@field lines string[]        the whole buffer as it would be
---@field title string
---@field on_done fun(accepted: boolean)

---@class switchboard.Preview
---@field tab integer
---@field proposed integer      the right-hand buffer
---@field current integer       the left-hand buffer
---@field proposal switchboard.Proposal
---@field settled boolean

---@type switchboard.Preview?
local open_preview = nil

---@param name string
---@param lines string[]
---@param filetype string
---@return integer
local function scratch(name, lines, filetype)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = filetype
  pcall(vim.api.nvim_buf_set_name, buf, name)
  return buf
end

---@param preview switchboard.Preview
---@param accepted boolean
local function settle(preview, accepted)
  if preview.settled then
    return
  end
  preview.settled = true
  if open_preview == preview then
    open_preview = nil
  end
  if vim.api.nvim_tabpage_is_valid(preview.tab) and #vim.api.nvim_list_tabpages() > 1 then
    vim.cmd.tabclose(vim.api.nvim_tabpage_get_number(preview.tab))
  end
  preview.proposal.on_done(accepted)
end

--- The preview on screen, if any.
---@return switchboard.Preview?
function M.current()
  return open_preview
end

--- Accepts (true) or rejects (false) the preview on screen.
---@param accepted boolean
function M.settle(accepted)
  if open_preview then
    settle(open_preview, accepted)
  end
end

--- Shows `proposal` as a diff; `on_done` runs once, with whether the user accepted it.
--- With `diff.preview = false` in setup() it is accepted at once.
---@param proposal switchboard.Proposal
function M.propose(proposal)
  local options = config.options.diff
  if not options.preview then
    proposal.on_done(true)
    return
  end
  if open_preview then
    settle(open_preview, false)
  end
  local source = proposal.buf
  local name = vim.api.nvim_buf_get_name(source)
  local label = name ~= "" and vim.fn.fnamemodify(name, ":~:.") or ("buffer " .. source)
  local filetype = vim.bo[source].filetype
  local current = scratch(
    "switchboard://current/" .. label,
    vim.api.nvim_buf_get_lines(source, 0, -1, true),
    filetype
  )
  local proposed = scratch("switchboard://proposed/" .. label, proposal.lines, filetype)
  vim.cmd.tabnew()
  local tab = vim.api.nvim_get_current_tabpage()
  local scratch_tab_buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_buf(0, current)
  vim.cmd.diffthis()
  vim.cmd("rightbelow vsplit")
  vim.api.nvim_win_set_buf(0, proposed)
  vim.cmd.diffthis()
  if vim.api.nvim_buf_is_valid(scratch_tab_buf) and scratch_tab_buf ~= current then
    pcall(vim.api.nvim_buf_delete, scratch_tab_buf, { force = true })
  end
  local help = ("%s: %s accepts · %s rejects"):format(
    proposal.title,
    options.accept,
    options.reject
  )
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(tab)) do
    vim.wo[win].winbar = help
  end
  ---@type switchboard.Preview
  local preview =
    { tab = tab, proposed = proposed, current = current, proposal = proposal, settled = false }
  open_preview = preview
  for _, buf in ipairs({ current, proposed }) do
    vim.keymap.set("n", options.accept, function()
      settle(preview, true)
    end, { buffer = buf, nowait = true, desc = "Switchboard: apply this change" })
    vim.keymap.set("n", options.reject, function()
      settle(preview, false)
    end, { buffer = buf, nowait = true, desc = "Switchboard: drop this change" })
    -- Closing a window of the preview (or wiping its buffer) is a no.
    vim.api.nvim_create_autocmd("BufWipeout", {
      buffer = buf,
      once = true,
      callback = function()
        vim.schedule(function()
          settle(preview, false)
        end)
      end,
    })
  end
end

--- The lines of `buf` with lines `first`..`last` (1-based, inclusive) replaced by `lines`.
---@param buf integer
---@param first integer
---@param last integer
---@param lines string[]
---@return string[]
function M.replaced(buf, first, last, lines)
  local all = vim.api.nvim_buf_get_lines(buf, 0, -1, true)
  local result = vim.list_slice(all, 1, first - 1)
  vim.list_extend(result, lines)
  vim.list_extend(result, all, last + 1)
  return result
end

return M
