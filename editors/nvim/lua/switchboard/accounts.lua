--- Sign-in (device code or browser), API keys and sign-out, all held by the server.
local notify = require("switchboard.notify")
local server = require("switchboard.server")

local M = {}

---@type table[]? the last switchboard/providers answer
local cached = nil

local function status_text(provider)
  local _, text = require("switchboard.status").provider(provider)
  return text
end

---@param on_providers fun(providers: table[])
function M.providers(on_providers)
  server.request("switchboard/providers", vim.empty_dict(), function(result)
    cached = result.providers
    on_providers(cached)
  end)
end

--- Provider ids for command-line completion.
---@return string[]
function M.ids()
  if not cached then
    local client = server.ready_client()
    local reply = client and client:request_sync("switchboard/providers", vim.empty_dict(), 2000)
    cached = reply and reply.result and reply.result.providers or nil
  end
  return vim.tbl_map(function(provider)
    return provider.id
  end, cached or {})
end

---@param provider table
---@param wanted string[]
local function offers(provider, wanted)
  local methods = provider.auth and provider.auth.methods or {}
  for _, method in ipairs(methods) do
    if vim.tbl_contains(wanted, method) then
      return true
    end
  end
  return false
end

--- Calls `on_provider` with `id`, or with the one the user picks among those `fits`.
---@param id string?
---@param prompt string
---@param fits fun(provider: table): boolean
---@param on_provider fun(id: string)
local function with_provider(id, prompt, fits, on_provider)
  if id and id ~= "" then
    return on_provider(id)
  end
  M.providers(function(providers)
    local choices = vim.tbl_filter(fits, providers)
    if #choices == 0 then
      notify.warn("no provider fits: " .. prompt)
      return
    end
    vim.ui.select(choices, {
      prompt = prompt,
      kind = "switchboard.provider",
      format_item = function(provider)
        return ("%s — %s, %s"):format(provider.id, provider.name, status_text(provider))
      end,
    }, function(choice)
      if choice then
        on_provider(choice.id)
      end
    end)
  end)
end

---@param provider string
---@param outcome table {status, message?}
local function report_outcome(provider, outcome)
  cached = nil
  if outcome.status == "signedIn" then
    notify.info(
      "signed in to " .. provider .. (outcome.account and (" as " .. outcome.account) or "")
    )
  elseif outcome.status == "expired" then
    notify.warn(
      ("the sign-in to %s expired; run :Switchboard login %s again"):format(provider, provider)
    )
  else
    notify.error(("sign-in to %s failed: %s"):format(provider, outcome.message or outcome.status))
  end
end

---@param url string
local function open_in_browser(url)
  local _, err = vim.ui.open(url)
  if err then
    notify.warn(("open %s in a browser (%s)"):format(url, err))
  end
end

---@param provider string
---@param pending table {flowId, userCode?, verificationUri?, authUrl?, expiresIn}
local function continue_sign_in(provider, pending)
  if pending.userCode then
    local copied = vim.fn.has("clipboard") == 1
    if copied then
      vim.fn.setreg("+", pending.userCode)
    end
    notify.info(
      ("to sign in to %s, enter the code %s at %s%s"):format(
        provider,
        pending.userCode,
        pending.verificationUri,
        copied and " (the code is in the + register)" or ""
      )
    )
    open_in_browser(pending.verificationUri)
  elseif pending.authUrl then
    notify.info(("finish signing in to %s in the browser: %s"):format(provider, pending.authUrl))
    open_in_browser(pending.authUrl)
  end
  server.request("switchboard/signInComplete", { flowId = pending.flowId }, function(outcome)
    report_outcome(provider, outcome)
  end)
end

--- `:Switchboard login [provider]`
---@param id string?
function M.login(id)
  with_provider(id, "Sign in to", function(provider)
    return offers(provider, { "device", "oauth" })
  end, function(provider)
    server.request("switchboard/signIn", { provider = provider }, function(started)
      if started.status == "pending" then
        continue_sign_in(provider, started)
      else
        report_outcome(provider, started)
      end
    end)
  end)
end

--- `:Switchboard logout [provider]`
---@param id string?
function M.logout(id)
  with_provider(id, "Sign out of", function(provider)
    return provider.auth and provider.auth.status == "signedIn"
  end, function(provider)
    server.request("switchboard/signOut", { provider = provider }, function(result)
      cached = nil
      if result.status == "signedOut" then
        notify.info("signed out of " .. provider)
      else
        notify.warn(result.message or ("still signed in to " .. provider))
      end
    end)
  end)
end

--- `:Switchboard key [provider]`: the key is read without echo and goes only to the server.
---@param id string?
function M.set_key(id)
  with_provider(id, "API key for", function(provider)
    return offers(provider, { "apiKey" })
  end, function(provider)
    local key = vim.fn.inputsecret(("API key for %s: "):format(provider))
    if key == "" then
      return
    end
    server.request("switchboard/setApiKey", { provider = provider, apiKey = key }, function(result)
      cached = nil
      if result.status == "signedIn" then
        notify.info(
          ("key stored for %s%s"):format(provider, result.verified and " (checked)" or "")
        )
      else
        notify.error(("key for %s refused: %s"):format(provider, result.message or result.status))
      end
    end)
  end)
end

return M
