--- Saved conversations, and `:Switchboard history`: a picker over the server's journal
--- (`switchboard/history`), one entry per conversation.
---
--- The journal keeps each answer (its model, usage, cost and text) under the requestId the chat
--- sent; the questions are kept here, one JSON file per conversation in
--- stdpath("data")/switchboard/chats, whose requestIds are "<conversation id>-<turn>".
--- An answer the journal has from elsewhere (the CLI, another editor) opens as that answer alone.
local notify = require("switchboard.notify")

local M = {}

local HISTORY_LIMIT = 200

---@class switchboard.SavedChat
---@field id string
---@field title string?   the first prompt, as typed
---@field model string?
---@field messages {role: string, content: string}[]
---@field calls string[]
---@field updated integer? seconds since the epoch

---@return string
function M.dir()
  return vim.fs.joinpath(vim.fn.stdpath("data"), "switchboard", "chats")
end

---@return string
function M.new_id()
  local nonce = vim.uv.hrtime() % 0x10000
  return ("nvim-%s-%d-%04x"):format(os.date("!%Y%m%dT%H%M%S"), vim.uv.os_getpid(), nonce)
end

---@param id string
---@return string
local function path(id)
  return vim.fs.joinpath(M.dir(), id .. ".json")
end

---@param chat switchboard.SavedChat
function M.save(chat)
  if #chat.messages == 0 then
    return
  end
  vim.fn.mkdir(M.dir(), "p")
  local saved = vim.tbl_extend("force", chat, { updated = os.time() })
  local temporary = path(chat.id) .. ".part"
  assert(vim.fn.writefile({ vim.json.encode(saved) }, temporary) == 0, "cannot write " .. temporary)
  assert(vim.uv.fs_rename(temporary, path(chat.id)))
end

---@param id string
---@return switchboard.SavedChat?
function M.load(id)
  local file = io.open(path(id), "r")
  if not file then
    return nil
  end
  local text = file:read("*a")
  file:close()
  local ok, chat = pcall(vim.json.decode, text)
  return ok and type(chat) == "table" and chat or nil
end

--- The conversation a journaled call belongs to: "<id>-<turn>" → id.
---@param call_id string
---@return string?
function M.conversation_of(call_id)
  return call_id:match("^(nvim%-.+)%-%d+$")
end

---@class switchboard.HistoryEntry
---@field chat switchboard.SavedChat?   a saved conversation
---@field call table                    its newest call in the journal (CallSummary)
---@field cost number?                  the journal's cost of its calls, in USD
---@field answers integer               its calls in the journal

--- One entry per conversation, newest first, from a page of the journal.
---@param calls table[] CallSummary, newest first
---@return switchboard.HistoryEntry[]
function M.entries(calls)
  local entries, by_chat = {}, {}
  for _, call in ipairs(calls) do
    local id = M.conversation_of(call.id)
    local entry = id and by_chat[id]
    if not entry then
      entry = { call = call, answers = 0, chat = id and M.load(id) or nil }
      table.insert(entries, entry)
      if id then
        by_chat[id] = entry
      end
    end
    entry.answers = entry.answers + 1
    local cost = type(call.cost) == "table" and call.cost.totalUsd or nil
    if cost then
      entry.cost = (entry.cost or 0) + cost
    end
  end
  return entries
end

---@param text string
---@param limit integer
---@return string
local function one_line(text, limit)
  local line = vim.trim((text or ""):gsub("%s+", " "))
  if vim.fn.strchars(line) > limit then
    line = vim.fn.strcharpart(line, 0, limit - 1) .. "…"
  end
  return line
end

--- A picker line: when, the first question (or the answer's start), model, answers, cost.
---@param entry switchboard.HistoryEntry
---@return string
function M.format(entry)
  local when = (entry.call.startedAt or ""):sub(1, 16):gsub("T", " ")
  local title
  if entry.chat then
    local first = entry.chat.messages[1]
    title = one_line(entry.chat.title or first and first.content or "", 50)
  else
    title = "answer: " .. one_line(entry.call.textPreview or "", 42)
  end
  local parts = { when, title, entry.call.model }
  table.insert(parts, ("%d %s"):format(entry.answers, entry.answers == 1 and "answer" or "answers"))
  local statusline = require("switchboard.statusline")
  table.insert(parts, entry.cost and statusline.format_cost(entry.cost) or "price unknown")
  return table.concat(parts, " · ")
end

--- The answer of one journaled call as a conversation of its own (no question was saved).
---@param call_id string
---@param on_chat fun(chat: switchboard.SavedChat)
local function answer_alone(call_id, on_chat)
  require("switchboard.server").request("switchboard/history", { id = call_id }, function(result)
    local text = {}
    for _, event in ipairs(result.call.events or {}) do
      if event.type == "text" then
        table.insert(text, event.text)
      end
    end
    on_chat({
      id = M.new_id(),
      model = result.call.model,
      messages = { { role = "assistant", content = table.concat(text) } },
      calls = {},
    })
  end)
end

--- `:Switchboard history`: picks a conversation and opens it in the chat.
function M.pick()
  local server = require("switchboard.server")
  server.request("switchboard/history", { limit = HISTORY_LIMIT }, function(result)
    local entries = M.entries(result.calls or {})
    if #entries == 0 then
      notify.info("no saved chats yet")
      return
    end
    vim.ui.select(entries, {
      prompt = "Switchboard history",
      kind = "switchboard.history",
      format_item = M.format,
    }, function(entry)
      if not entry then
        return
      end
      local chat = require("switchboard.chat")
      if entry.chat then
        chat.restore(entry.chat)
      else
        answer_alone(entry.call.id, chat.restore)
      end
    end)
  end)
end

return M
