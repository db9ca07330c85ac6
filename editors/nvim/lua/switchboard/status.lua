--- What the server says about a provider's credentials, in the words every view uses
--- (:checkhealth, the provider and model pickers). Only the server's word counts: a provider
--- is "signed in" when `switchboard/providers` says so, and "not configured" when the server
--- found no credentials for it.
local M = {}

---@alias switchboard.Readiness "ready"|"missing"|"unchecked"

---@param provider table ProviderInfo
---@return switchboard.Readiness readiness, string text
function M.provider(provider)
  local auth = provider.auth or {}
  if auth.status == "signedIn" then
    if auth.source and auth.source ~= vim.NIL then
      return "ready", ("signed in (%s)"):format(auth.source)
    end
    return "ready", "ready (no sign-in needed)"
  end
  if auth.status == "expired" then
    return "missing", "sign-in expired"
  end
  if auth.status == "signedOut" or auth.status == "failed" then
    return "missing", "not configured"
  end
  return "unchecked", "not checked"
end

--- The same for a model (`available` in switchboard/models): true, false, or not known.
---@param model table ModelInfo
---@return switchboard.Readiness readiness, string mark, string? text
function M.model(model)
  if model.available == true then
    return "ready", "✓", nil
  end
  if model.available == false then
    return "missing", "✗", "not configured"
  end
  return "unchecked", "?", "not checked"
end

return M
