--- The connection to `switchboard serve`: registration, one shared client, requests and streams.
local config = require("switchboard.config")
local notify = require("switchboard.notify")

local M = {}

M.name = "switchboard"
M.REQUEST_CANCELLED = -32800

---@type table<string, fun(events: table[])>
local streams = {}
---@class switchboard.Waiter
---@field ready fun(client: vim.lsp.Client)
---@field unavailable fun()?

---@type switchboard.Waiter[]
local waiting = {}
local last_token = 0

local function on_progress(err, params, ctx)
  local value = params and params.value
  if type(value) == "table" and value.events then
    local on_events = streams[params.token]
    if on_events then
      on_events(value.events)
    end
    return
  end
  return vim.lsp.handlers["$/progress"](err, params, ctx)
end

local function on_usage_changed(_, params)
  require("switchboard.statusline").update(params)
end

local function on_init(client)
  local ready = waiting
  waiting = {}
  for _, waiter in ipairs(ready) do
    waiter.ready(client)
  end
end

---@param message string
local function give_up(message)
  local gone = waiting
  waiting = {}
  notify.error(message)
  for _, waiter in ipairs(gone) do
    if waiter.unavailable then
      waiter.unavailable()
    end
  end
end

local function on_exit(code, signal)
  vim.schedule(function()
    if #waiting > 0 then
      local reason = ("code %s, signal %s"):format(code, signal)
      give_up(("the server exited before it was ready (%s); see :Switchboard log"):format(reason))
    end
  end)
end

local function lsp_settings()
  return config.server_settings()
end

function M.register()
  local settings = lsp_settings()
  vim.lsp.config[M.name] = {
    cmd = config.options.cmd,
    cmd_env = config.options.cmd_env,
    init_options = settings,
    settings = settings and { switchboard = settings } or nil,
    -- One server for the whole editor: session totals and sign-ins are shared.
    reuse_client = function(client, wanted)
      return client.name == wanted.name
    end,
    handlers = {
      ["$/progress"] = on_progress,
      ["switchboard/usageChanged"] = on_usage_changed,
      ["workspace/applyEdit"] = function(err, params, ctx)
        return require("switchboard.edits").apply(err, params, ctx)
      end,
    },
    on_init = on_init,
    on_exit = on_exit,
  }
  vim.lsp.enable(M.name)
  -- vim.lsp.enable attaches on FileType, which a file with no filetype never fires: attach
  -- those too, so that code actions and completion work in every file.
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
    group = vim.api.nvim_create_augroup("switchboard.attach", { clear = true }),
    callback = function(event)
      vim.schedule(function()
        local buf = event.buf
        if
          vim.api.nvim_buf_is_valid(buf)
          and vim.bo[buf].filetype == ""
          and vim.bo[buf].buftype == ""
          and vim.lsp.is_enabled(M.name)
        then
          vim.lsp.start(vim.lsp.config[M.name], { bufnr = buf, silent = true })
        end
      end)
    end,
  })
end

--- Running clients get the new settings through workspace/didChangeConfiguration.
function M.push_settings()
  local settings = lsp_settings() or vim.empty_dict()
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client.settings = { switchboard = settings }
    client:notify("workspace/didChangeConfiguration", { settings = client.settings })
  end
end

---@return vim.lsp.Client?
function M.get()
  return vim.lsp.get_clients({ name = M.name, _uninitialized = true })[1]
end

---@return vim.lsp.Client?
function M.ready_client()
  local client = M.get()
  if client and client.initialized and not client:is_stopped() then
    return client
  end
end

--- Calls `ready` with an initialized client, starting the server when none runs;
--- `unavailable` when the server cannot start.
---@param ready fun(client: vim.lsp.Client)
---@param unavailable fun()?
function M.with_client(ready, unavailable)
  if not config.is_setup then
    require("switchboard").setup()
  end
  local client = M.ready_client()
  if client then
    return ready(client)
  end
  table.insert(waiting, { ready = ready, unavailable = unavailable })
  if M.get() then
    return
  end
  local started = vim.lsp.start(vim.lsp.config[M.name], { attach = false, silent = true })
  if not started then
    local cmd = table.concat(config.options.cmd, " ")
    give_up(
      ("could not start the server (%s): install it, or set `cmd` in setup();"):format(cmd)
        .. " :checkhealth switchboard says more"
    )
  end
end

--- Waits (blocking) for a ready client; for synchronous callers such as :checkhealth.
---@param timeout_ms integer
---@return vim.lsp.Client?
function M.wait_for_client(timeout_ms)
  local client
  M.with_client(function(ready)
    client = ready
  end)
  vim.wait(timeout_ms, function()
    return client ~= nil
  end, 20)
  return client
end

--- The message an LSP error carries, with the server's normalized code and suggestion.
---@param err lsp.ResponseError|table
---@return string
function M.describe_error(err)
  local data = type(err.data) == "table" and err.data or {}
  local text = err.message or tostring(err)
  if data.code and not text:find(data.code, 1, true) then
    text = ("%s (%s)"):format(text, data.code)
  end
  local provider = data.provider
  if data.code == "authenticationFailed" and provider then
    text = text .. ("; :Switchboard key %s, or :Switchboard login %s"):format(provider, provider)
  elseif
    (data.code == "unknownProvider" or data.code == "unknownModel")
    and type(data.suggestion) == "string"
  then
    text = text .. ("; did you mean %s?"):format(data.suggestion)
  end
  return text
end

--- A request whose failure is reported to the user; `on_result` gets only successes.
---@param method string
---@param params table
---@param on_result fun(result: any, client: vim.lsp.Client)
function M.request(method, params, on_result)
  M.with_client(function(client)
    client:request(method, params, function(err, result)
      if err then
        notify.error(M.describe_error(err))
        return
      end
      on_result(result, client)
    end)
  end)
end

---@class switchboard.Stream
---@field cancel fun()

---@class switchboard.StreamHandlers
---@field on_events fun(events: table[])
---@field on_done fun(err: table?, result: table?)

--- A request with a partialResultToken: events arrive through $/progress, then the result.
--- Its work-done progress goes to LspProgress like any server's.
---@param client vim.lsp.Client
---@param method string
---@param params table
---@param handlers switchboard.StreamHandlers
---@return switchboard.Stream?
function M.stream(client, method, params, handlers)
  last_token = last_token + 1
  local token = ("switchboard-%d-%d"):format(vim.uv.os_getpid(), last_token)
  streams[token] = handlers.on_events
  -- Our own workDoneToken: progress (LspProgress, fidget.nvim) begins with the request,
  -- not only once a window/workDoneProgress/create round trip is done.
  local tokens = { partialResultToken = token, workDoneToken = token .. "-progress" }
  local ok, request_id = client:request(
    method,
    vim.tbl_extend("force", params, tokens),
    function(err, result)
      streams[token] = nil
      handlers.on_done(err, result)
    end
  )
  if not ok then
    streams[token] = nil
    handlers.on_done({ message = "the server is not running" }, nil)
    return nil
  end
  return {
    cancel = function()
      streams[token] = nil
      client:cancel_request(request_id)
    end,
  }
end

return M
