--- The chat buffer: a markdown scratch buffer where answers stream in.
---
--- Layout: "## You" headings hold what the user wrote, "## <model>" headings the answers.
--- The text under the last "## You" is the next prompt: <CR> (normal) or <C-s> sends it,
--- <C-c> cancels a streaming answer and keeps what arrived. `gy` yanks the code block under the
--- cursor (else the last one), `ga` applies it to the file the chat came from, through a diff.
--- `#buffer` and `#selection` in a prompt attach that file, or its last Visual selection.
--- Each conversation is saved (see switchboard.chats) and comes back with :Switchboard history.
local chats = require("switchboard.chats")
local config = require("switchboard.config")
local context = require("switchboard.context")
local notify = require("switchboard.notify")
local server = require("switchboard.server")
local statusline = require("switchboard.statusline")

local M = {}

local BUFFER_NAME = "switchboard://chat"
local YOU = "## You"
local ns = vim.api.nvim_create_namespace("switchboard.chat")

---@class switchboard.Answer
---@field stream switchboard.Stream?
---@field text string[]
---@field header integer      extmark of the answer's heading
---@field thinking boolean    inside a thinking blockquote
---@field prompt string

---@class switchboard.ChatState
---@field buf integer?
---@field messages table[]
---@field prompt_mark integer?   extmark of the last "## You" heading
---@field answer switchboard.Answer?
---@field id string             the conversation's id (its saved file, its calls' requestIds)
---@field calls string[]        the requestIds of its answers
---@field model string?         the model of the last answer
---@field title string?         the first prompt, without its context
---@field origin integer?       the file buffer the chat was last opened from
---@field target switchboard.Target?  where `ga` applies a code block
local state = { buf = nil, messages = {}, prompt_mark = nil, answer = nil, id = "", calls = {} }

local function buf_valid()
  return state.buf ~= nil and vim.api.nvim_buf_is_loaded(state.buf)
end

local save

local function line_count()
  return vim.api.nvim_buf_line_count(state.buf)
end

--- Appends `text` at the very end of the buffer, continuing its last line.
---@param text string
local function append(text)
  local last_row = line_count() - 1
  local last_line = vim.api.nvim_buf_get_lines(state.buf, last_row, last_row + 1, true)[1]
  vim.api.nvim_buf_set_text(
    state.buf,
    last_row,
    #last_line,
    last_row,
    #last_line,
    vim.split(text, "\n", { plain = true })
  )
end

--- Appends whole lines after the last line.
---@param lines string[]
local function append_lines(lines)
  vim.api.nvim_buf_set_lines(state.buf, -1, -1, true, lines)
end

--- Appends `lines` as a paragraph: after a blank line, or in the empty last line.
---@param lines string[]
local function append_paragraph(lines)
  local last = vim.api.nvim_buf_get_lines(state.buf, -2, -1, true)[1]
  if last == "" then
    vim.api.nvim_buf_set_lines(state.buf, -2, -1, true, lines)
  else
    append_lines(vim.list_extend({ "" }, lines))
  end
end

local function follow_end()
  for _, win in ipairs(vim.fn.win_findbuf(state.buf)) do
    vim.api.nvim_win_set_cursor(win, { line_count(), 0 })
  end
end

--- Runs `change`; windows whose cursor was on the last line keep following the end.
---@param change fun()
local function following(change)
  local at_end = vim.tbl_filter(function(win)
    return vim.api.nvim_win_get_cursor(win)[1] == line_count()
  end, vim.fn.win_findbuf(state.buf))
  change()
  for _, win in ipairs(at_end) do
    vim.api.nvim_win_set_cursor(win, { line_count(), 0 })
  end
end

local function mark_row(mark)
  return vim.api.nvim_buf_get_extmark_by_id(state.buf, ns, mark, {})[1]
end

--- A fresh "## You" heading at the end, with `draft` under it.
---@param draft string?
local function new_prompt(draft)
  append_lines({ "", YOU })
  state.prompt_mark = vim.api.nvim_buf_set_extmark(state.buf, ns, line_count() - 1, 0, {})
  append_lines(vim.split(draft or "", "\n", { plain = true }))
end

---@return string
local function prompt_text()
  local row = mark_row(state.prompt_mark)
  local lines = vim.api.nvim_buf_get_lines(state.buf, row + 1, -1, false)
  return vim.trim(table.concat(lines, "\n"))
end

--- Replaces the text under the last "## You" heading.
---@param text string
local function set_prompt(text)
  local row = mark_row(state.prompt_mark)
  vim.api.nvim_buf_set_lines(state.buf, row + 1, -1, false, vim.split(text, "\n", { plain = true }))
end

local function set_keymaps(buf)
  local function map(modes, lhs, fn, desc)
    vim.keymap.set(modes, lhs, fn, { buffer = buf, desc = desc, nowait = true })
  end
  map("n", "<CR>", function()
    M.send()
  end, "Switchboard: send the prompt")
  map({ "n", "i" }, "<C-s>", function()
    M.send()
  end, "Switchboard: send the prompt")
  map({ "n", "i" }, "<C-c>", function()
    M.cancel()
  end, "Switchboard: stop the answer")
  local keys = config.options.chat_keys or {}
  if keys.yank then
    map("n", keys.yank, function()
      M.yank_block()
    end, "Switchboard: yank the code block")
  end
  if keys.apply then
    map("n", keys.apply, function()
      M.apply_block()
    end, "Switchboard: apply the code block (diff first)")
  end
end

--- A chat buffer the user unloaded (:bdelete) keeps its name: wipe it to reuse the name.
local function wipe_stale_buffer()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf) == BUFFER_NAME then
      vim.api.nvim_buf_delete(buf, { force = true })
    end
  end
end

local function create_buffer()
  if state.answer then
    M.cancel()
  end
  wipe_stale_buffer()
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(buf, BUFFER_NAME)
  vim.bo[buf].filetype = "markdown"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  state.buf = buf
  state.messages = {}
  state.answer = nil
  state.id = chats.new_id()
  state.calls = {}
  state.model = nil
  local keys = config.options.chat_keys or {}
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, {
    "# Switchboard chat",
    "",
    ("_<CR> sends under “You” · <C-c> stops · %s yanks, %s applies a code block · #buffer #selection_"):format(
      keys.yank or "-",
      keys.apply or "-"
    ),
  })
  new_prompt()
  set_keymaps(buf)
  return buf
end

---@param buf integer
---@return boolean
function M.is_chat(buf)
  return buf_valid() and buf == state.buf
end

---@return integer buf
function M.buffer()
  return buf_valid() and state.buf or create_buffer()
end

--- Shows the chat buffer (in its window if one has it) and puts the cursor at the end.
---@return integer buf
function M.open()
  local current = vim.api.nvim_get_current_buf()
  if current ~= state.buf and vim.bo[current].buftype == "" then
    state.origin = current
  end
  local buf = M.buffer()
  local wins = vim.fn.win_findbuf(buf)
  if #wins > 0 then
    vim.api.nvim_set_current_win(wins[1])
  else
    if config.options.chat_open ~= "" then
      vim.cmd(config.options.chat_open)
    end
    vim.api.nvim_win_set_buf(0, buf)
  end
  follow_end()
  return buf
end

--- Starts over: a new buffer with no history.
function M.reset()
  M.cancel()
  if buf_valid() then
    vim.api.nvim_buf_delete(state.buf, { force = true })
  end
  state.buf = nil
end

---@return boolean
function M.is_streaming()
  return state.answer ~= nil
end

---@param answer switchboard.Answer
---@param text string
local function write_thinking(answer, text)
  if not answer.thinking then
    answer.thinking = true
    append("> ")
  end
  append((text:gsub("\n", "\n> ")))
end

---@param answer switchboard.Answer
local function end_thinking(answer)
  if answer.thinking then
    answer.thinking = false
    append("\n\n")
  end
end

---@param row integer
---@param text string
local function replace_line(row, text)
  local old = vim.api.nvim_buf_get_lines(state.buf, row, row + 1, true)[1]
  vim.api.nvim_buf_set_text(state.buf, row, 0, row, #old, { text })
end

---@param answer switchboard.Answer
---@param event table
local function show_event(answer, event)
  if event.type == "started" then
    replace_line(mark_row(answer.header), "## " .. event.model)
  elseif event.type == "thinking" and event.text ~= "" then
    write_thinking(answer, event.text)
  elseif event.type == "text" then
    end_thinking(answer)
    table.insert(answer.text, event.text)
    append(event.text)
  elseif event.type == "retry" then
    notify.info(
      ("retrying (attempt %d) in %.1f s: %s"):format(
        event.attempt,
        event.delayMs / 1000,
        event.reason
      )
    )
  elseif event.type == "error" then
    end_thinking(answer)
    append(("\n\n> **Error** (%s): %s"):format(event.code, event.message))
  end
end

---@param answer switchboard.Answer
---@param events table[]
local function on_events(answer, events)
  if state.answer ~= answer or not buf_valid() then
    return
  end
  following(function()
    for _, event in ipairs(events) do
      show_event(answer, event)
    end
  end)
end

---@param result table
---@return string
local function footer(result)
  local usage = result.usage or {}
  local cost = result.cost and statusline.format_cost(result.cost.totalUsd) or "price unknown"
  local parts = {
    ("%d in · %d out · %s"):format(usage.inputTokens or 0, usage.outputTokens or 0, cost),
  }
  if result.stopReason and result.stopReason ~= "endTurn" then
    table.insert(parts, "stopped: " .. result.stopReason)
  end
  return "_" .. table.concat(parts, " · ") .. "_"
end

--- Keeps the conversation (its turns as sent, and its calls) for :Switchboard history.
save = function()
  local ok, problem = pcall(chats.save, {
    id = state.id,
    title = state.title,
    model = state.model,
    messages = state.messages,
    calls = state.calls,
  })
  if not ok then
    notify.warn("the chat was not saved: " .. tostring(problem))
  end
end

---@param answer switchboard.Answer
---@param err table?
---@param result table?
local function on_done(answer, err, result)
  if state.answer ~= answer then
    return
  end
  state.answer = nil
  if not buf_valid() then
    return
  end
  if err then
    if err.code == server.REQUEST_CANCELLED then
      return
    end
    -- The question was not answered: forget it, and offer it again for a retry.
    table.remove(state.messages)
    following(function()
      append_paragraph({ "> **Failed:** " .. server.describe_error(err) })
      new_prompt(answer.prompt)
    end)
    return
  end
  table.insert(state.messages, { role = "assistant", content = table.concat(answer.text) })
  state.model = result.model or state.model
  following(function()
    append_paragraph({ footer(result) })
    new_prompt()
  end)
  save()
end

--- Sends `text` (or what is under the last "## You" heading) and streams the answer.
---@param text string?
function M.send(text)
  M.open()
  if state.answer then
    notify.warn("an answer is still streaming; <C-c> in the chat stops it")
    return
  end
  if text and text ~= "" then
    set_prompt(text)
  end
  local prompt = prompt_text()
  if prompt == "" then
    notify.info("write a prompt under the last “You” heading, then press <CR>")
    return
  end
  if #state.messages == 0 then
    state.title = prompt
  end
  table.insert(state.messages, { role = "user", content = M.with_context(prompt) })
  local model = config.chat_model()
  local request_id = ("%s-%d"):format(state.id, #state.calls + 1)
  table.insert(state.calls, request_id)
  append_lines({ "", "## " .. (model or "Switchboard"), "" })
  state.answer = {
    text = {},
    prompt = prompt,
    thinking = false,
    header = vim.api.nvim_buf_set_extmark(state.buf, ns, line_count() - 2, 0, {}),
  }
  follow_end()
  local answer = state.answer
  server.with_client(function(client)
    if state.answer ~= answer then
      return
    end
    answer.stream = server.stream(
      client,
      "switchboard/chat",
      { model = model, messages = vim.deepcopy(state.messages), requestId = request_id },
      {
        on_events = function(events)
          on_events(answer, events)
        end,
        on_done = function(err, result)
          on_done(answer, err, result)
        end,
      }
    )
  end, function()
    on_done(answer, { message = "the server is not running" }, nil)
  end)
end

--- Stops the streaming answer; what arrived stays, in the buffer and in the history.
function M.cancel()
  local answer = state.answer
  if not answer then
    return
  end
  state.answer = nil
  if answer.stream then
    answer.stream.cancel()
  end
  if not buf_valid() then
    return
  end
  local text = table.concat(answer.text)
  if text ~= "" then
    table.insert(state.messages, { role = "assistant", content = text })
  else
    table.remove(state.messages)
  end
  following(function()
    append_paragraph({ "_cancelled_" })
    -- Nothing arrived: the question is still open, ready to send again.
    new_prompt(text == "" and answer.prompt or nil)
  end)
end

---@return table[]
function M.messages()
  return vim.deepcopy(state.messages)
end

--- Where `ga` applies a code block from now on (ask and #selection set it).
---@param target switchboard.Target?
function M.set_target(target)
  state.target = target
end

---@return switchboard.Target?
function M.target()
  return state.target
end

--- `prompt` with the text `#buffer` and `#selection` name (of the file the chat came from)
--- attached below it; that text is where a code block is applied.
---@param prompt string
---@return string
function M.with_context(prompt)
  local origin = state.origin
  if not origin or not vim.api.nvim_buf_is_loaded(origin) then
    if prompt:find("#buffer", 1, true) or prompt:find("#selection", 1, true) then
      notify.warn("#buffer and #selection need a file: open the chat from one")
    end
    return prompt
  end
  local blocks = { prompt }
  if prompt:find("#selection", 1, true) then
    local selection = context.last_selection(origin)
    if selection then
      table.insert(blocks, context.block(selection))
      state.target = selection
    else
      notify.warn("#selection: nothing was selected in " .. context.file_label(origin))
    end
  end
  if prompt:find("#buffer", 1, true) then
    table.insert(blocks, context.block({ buf = origin }))
    if not (state.target and state.target.buf == origin and state.target.first) then
      state.target = { buf = origin }
    end
  end
  return table.concat(blocks, "\n\n")
end

---@class switchboard.CodeBlock
---@field first integer 1-based line of the opening fence
---@field last integer  1-based line of the closing fence
---@field lines string[] the code

--- The chat's fenced code blocks, top to bottom.
---@return switchboard.CodeBlock[]
function M.code_blocks()
  local blocks = {}
  local open = nil
  for row, line in ipairs(vim.api.nvim_buf_get_lines(M.buffer(), 0, -1, true)) do
    local ticks = line:match("^%s*(```+)")
    if open then
      if ticks and #ticks >= #open.fence and vim.trim(line) == ticks then
        open.last = row
        open.fence = nil
        table.insert(blocks, open)
        open = nil
      else
        table.insert(open.lines, line)
      end
    elseif ticks then
      open = { first = row, lines = {}, fence = ticks }
    end
  end
  return blocks
end

--- The block the cursor is in, else the last one.
---@return switchboard.CodeBlock?
function M.block_at_cursor()
  local blocks = M.code_blocks()
  local row = vim.api.nvim_get_current_buf() == state.buf and vim.api.nvim_win_get_cursor(0)[1]
  for _, block in ipairs(blocks) do
    if row and block.first <= row and row <= block.last then
      return block
    end
  end
  return blocks[#blocks]
end

--- Yanks the code block into the unnamed register (and the clipboard, when there is one).
function M.yank_block()
  local block = M.block_at_cursor()
  if not block then
    notify.info("no code block in the chat")
    return
  end
  local text = table.concat(block.lines, "\n")
  vim.fn.setreg('"', text, "l")
  if vim.fn.has("clipboard") == 1 then
    pcall(vim.fn.setreg, "+", text, "l")
  end
  notify.info(("yanked %d lines"):format(#block.lines))
end

--- Applies the code block to the chat's target (a selection, else the whole file it came
--- from), after a diff the user accepts.
function M.apply_block()
  local block = M.block_at_cursor()
  if not block then
    notify.info("no code block in the chat")
    return
  end
  local target = state.target
  if not target or not vim.api.nvim_buf_is_loaded(target.buf) then
    target = state.origin and vim.api.nvim_buf_is_loaded(state.origin) and { buf = state.origin }
      or nil
  end
  if not target then
    notify.warn("no file to apply it to: open the chat from one, or ask about a selection")
    return
  end
  local buf, first, last = target.buf, target.first, target.last
  local proposed = first and require("switchboard.diff").replaced(buf, first, last, block.lines)
    or block.lines
  require("switchboard.diff").propose({
    buf = buf,
    lines = proposed,
    title = "Switchboard: apply the code block to " .. context.file_label(buf),
    on_done = function(accepted)
      if not accepted or not vim.api.nvim_buf_is_loaded(buf) then
        return
      end
      if first then
        vim.api.nvim_buf_set_lines(buf, first - 1, last, true, block.lines)
        state.target = { buf = buf, first = first, last = first + #block.lines - 1 }
      else
        vim.api.nvim_buf_set_lines(buf, 0, -1, true, block.lines)
      end
      notify.info("applied to " .. context.file_label(buf))
    end,
  })
end

--- Opens a saved conversation: its turns in a fresh chat buffer, ready to go on.
---@param saved switchboard.SavedChat
function M.restore(saved)
  M.reset()
  local buf = M.open()
  state.id = saved.id
  state.calls = vim.deepcopy(saved.calls or {})
  state.model = saved.model
  state.title = saved.title
  state.messages = vim.deepcopy(saved.messages)
  local lines = {}
  for _, message in ipairs(saved.messages) do
    local heading = message.role == "user" and YOU
      or ("## " .. (message.model or saved.model or "Switchboard"))
    vim.list_extend(lines, { "", heading })
    vim.list_extend(lines, vim.split(message.content, "\n", { plain = true }))
  end
  vim.api.nvim_buf_set_lines(buf, 3, -1, true, lines)
  new_prompt()
  follow_end()
end

return M
