--- :checkhealth switchboard
local config = require("switchboard.config")

local M = {}

local CLI_TIMEOUT_MS = 20000
local CLIENT_TIMEOUT_MS = 20000

---@param args string[]
---@return vim.SystemCompleted?
local function run_cli(args)
  local command = vim.list_extend(vim.deepcopy(config.cli_cmd()), args)
  local ok, process = pcall(vim.system, command, { text = true, env = config.options.cmd_env })
  if not ok then
    return nil
  end
  return process:wait(CLI_TIMEOUT_MS)
end

---@return boolean found
local function check_executable()
  local program = config.options.cmd[1]
  if vim.fn.executable(program) == 1 then
    vim.health.ok(
      ("server command: %s (%s)"):format(
        table.concat(config.options.cmd, " "),
        vim.fn.exepath(program)
      )
    )
    return true
  end
  vim.health.error(("`%s` is not executable"):format(program), {
    "Install the server (the Python package switchboard-lsp) so that `switchboard` is on PATH:"
      .. " from a clone, `pip install .`",
    'Or point setup() at it: setup({ cmd = { "/path/to/switchboard", "serve" } })',
  })
  return false
end

local function check_version()
  local done = run_cli({ "--version" })
  if done and done.code == 0 and vim.trim(done.stdout or "") ~= "" then
    vim.health.ok("version: " .. vim.trim(done.stdout))
  else
    vim.health.error("`--version` failed: " .. vim.trim(done and done.stderr or "did not run"))
  end
end

--- `switchboard doctor`: config problems and tokenizer data.
local function check_doctor()
  local done = run_cli({ "doctor" })
  if not done or not done.stdout then
    vim.health.error("`doctor` did not run")
    return
  end
  local section = nil
  local tokenizers = 0
  for _, line in ipairs(vim.split(done.stdout, "\n", { trimempty = true })) do
    local heading = line:match("^(%a[%w ]*):%s*$")
    if heading then
      section = heading
    elseif line:match("^config file:") or line:match("^data dir:") then
      vim.health.info(line)
    elseif line:match("^%s+problem:") then
      vim.health.warn("config " .. vim.trim(line))
    elseif section == "tokenizers" then
      local name, status = line:match("^%s+([%w_]+):%s*(.+)$")
      if name then
        tokenizers = tokenizers + 1
        if status:match("^ok") then
          vim.health.ok(("tokenizer %s: %s"):format(name, status))
        else
          vim.health.error(("tokenizer %s: %s"):format(name, status), {
            "Reinstall the server package: its tokenizer data is missing",
          })
        end
      end
    end
  end
  if tokenizers == 0 then
    vim.health.warn("`doctor` reported no tokenizers", { vim.trim(done.stderr or "") })
  end
end

local function check_providers()
  local server = require("switchboard.server")
  local client = server.wait_for_client(CLIENT_TIMEOUT_MS)
  if not client then
    vim.health.error("the server did not start; see :Switchboard log")
    return
  end
  local info = client.server_info or {}
  vim.health.ok(
    ("connected: %s %s (client id %d)"):format(info.name or "?", info.version or "?", client.id)
  )
  local reply = client:request_sync("switchboard/providers", vim.empty_dict(), CLIENT_TIMEOUT_MS)
  if not reply or reply.err then
    vim.health.error("switchboard/providers failed: " .. vim.inspect(reply and reply.err))
    return
  end
  local signed_in = 0
  local status = require("switchboard.status")
  for _, provider in ipairs(reply.result.providers) do
    local readiness, text = status.provider(provider)
    local line = ("%s: %s"):format(provider.id, text)
    if readiness == "ready" then
      signed_in = signed_in + 1
      vim.health.ok(line)
    else
      local ways = vim.tbl_filter(function(method)
        return method ~= "none"
      end, (provider.auth or {}).methods or {})
      if #ways > 0 then
        line = ("%s (ways in: %s)"):format(line, table.concat(ways, ", "))
      end
      vim.health.info(line)
    end
  end
  if signed_in == 0 then
    vim.health.warn("no provider has credentials", {
      ":Switchboard login {provider} (device or browser sign-in)",
      ":Switchboard key {provider} (stores an API key in the OS keyring)",
      "or set the provider's API key variable before starting Neovim",
    })
  end
end

function M.check()
  vim.health.start("Switchboard")
  if vim.fn.has("nvim-0.11") == 1 then
    vim.health.ok("Neovim " .. tostring(vim.version()))
  else
    vim.health.error("Neovim 0.11 or later is needed (vim.lsp.config)")
  end
  if not config.is_setup then
    vim.health.warn(
      'setup() was not called: using the defaults (require("switchboard").setup({...}))'
    )
  end
  vim.health.info("log: " .. config.log_file())
  if not check_executable() then
    return
  end
  check_version()
  vim.health.start("Switchboard: server doctor")
  check_doctor()
  vim.health.start("Switchboard: providers")
  check_providers()
end

return M
