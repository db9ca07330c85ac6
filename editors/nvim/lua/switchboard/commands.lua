--- `:Switchboard {subcommand} [args]`, with completion of subcommands, model ids and providers.
local notify = require("switchboard.notify")

local M = {}

---@class switchboard.Subcommand
---@field run fun(args: string, command: table)
---@field complete (fun(): string[])?

local function model_ids()
  return require("switchboard.models").ids()
end

local function provider_ids()
  return require("switchboard.accounts").ids()
end

---@type table<string, switchboard.Subcommand>
M.subcommands = {
  chat = {
    run = function(args, command)
      local chat = require("switchboard.chat")
      if command.bang then
        chat.reset()
      end
      if args ~= "" then
        chat.send(args)
      else
        chat.open()
      end
    end,
  },
  ask = {
    run = function(args, command)
      local first, last = command.line1, command.line2
      if command.range == 0 then
        first, last = vim.fn.line("'<"), vim.fn.line("'>")
      end
      require("switchboard.ask").ask(args, first, last)
    end,
  },
  action = {
    run = function(_, command)
      local first, last = command.line1, command.line2
      if command.range == 0 then
        first, last = vim.fn.line("'<"), vim.fn.line("'>")
      end
      local last_line = vim.api.nvim_buf_get_lines(0, last - 1, last, true)[1]
      vim.lsp.buf.code_action({
        range = { start = { first, 0 }, ["end"] = { last, math.max(0, #last_line - 1) } },
        -- Only Switchboard's actions: the ones that run its rewrite command.
        filter = function(action)
          local command = action.command
          local name = type(command) == "table" and command.command or command
          return name == "switchboard.rewrite"
        end,
      })
    end,
  },
  complete = {
    run = function()
      require("switchboard.complete").start()
    end,
  },
  ghost = {
    run = function(args)
      local inline = require("switchboard.inline")
      if args == "" or args == "toggle" then
        inline.toggle()
      elseif args == "on" or args == "off" then
        inline.set_enabled(args == "on")
      else
        notify.error(("ghost: %q is not on, off or toggle"):format(args))
      end
    end,
    complete = function()
      return { "on", "off", "toggle" }
    end,
  },
  history = {
    run = function()
      require("switchboard.chats").pick()
    end,
  },
  model = {
    run = function(args)
      require("switchboard.models").choose(args)
    end,
    complete = model_ids,
  },
  login = {
    run = function(args)
      require("switchboard.accounts").login(args)
    end,
    complete = provider_ids,
  },
  logout = {
    run = function(args)
      require("switchboard.accounts").logout(args)
    end,
    complete = provider_ids,
  },
  key = {
    run = function(args)
      require("switchboard.accounts").set_key(args)
    end,
    complete = provider_ids,
  },
  usage = {
    run = function()
      require("switchboard.usage").show()
    end,
  },
  log = {
    run = function()
      require("switchboard.log").open()
    end,
  },
}

---@return string[]
function M.names()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return names
end

---@param prefix string
---@param words string[]
---@return string[]
local function starting_with(prefix, words)
  return vim.tbl_filter(function(word)
    return vim.startswith(word, prefix)
  end, words)
end

---@param arg_lead string
---@param cmdline string
---@param cursor_pos integer
---@return string[]
function M.complete(arg_lead, cmdline, cursor_pos)
  local before_cursor = cmdline:sub(1, cursor_pos)
  local arguments = before_cursor:gsub("^%A*%a+!?", "", 1)
  local words = vim.split(vim.trim(arguments), "%s+", { trimempty = true })
  local completing_first = #words == 0 or (#words == 1 and arg_lead ~= "")
  if completing_first then
    return starting_with(arg_lead, M.names())
  end
  local subcommand = M.subcommands[words[1]]
  if subcommand and subcommand.complete and #words <= 2 then
    return starting_with(arg_lead, subcommand.complete())
  end
  return {}
end

---@param command table the user command's arguments (:h nvim_create_user_command)
function M.run(command)
  local name, args = command.args:match("^(%S*)%s*(.-)%s*$")
  if name == "" then
    name = "chat"
  end
  local subcommand = M.subcommands[name]
  if not subcommand then
    notify.error(("unknown subcommand %q; one of: %s"):format(name, table.concat(M.names(), ", ")))
    return
  end
  subcommand.run(args, command)
end

function M.create()
  vim.api.nvim_create_user_command("Switchboard", M.run, {
    nargs = "*",
    range = true,
    bang = true,
    complete = M.complete,
    desc = "Switchboard: chat, ask, action, complete, history, ghost, model, login, logout, key, usage, log",
  })
end

return M
