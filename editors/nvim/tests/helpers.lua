--- Shared pieces of the plugin's headless tests (run by tests/test_nvim_plugin.py).
---
--- The Python side starts loopback fake providers and passes, through the environment:
--- SWITCHBOARD_TEST_PYTHON (the interpreter with the server installed), SWITCHBOARD_TEST_CONFIG
--- (a config file pointing at the fakes), SWITCHBOARD_TEST_WORK (a scratch directory), and
--- what each test expects (SWITCHBOARD_EXPECT_*).
local M = {}

M.plugin_dir = vim.fs.dirname(vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2))))
M.work_dir = assert(vim.env.SWITCHBOARD_TEST_WORK, "SWITCHBOARD_TEST_WORK is not set")

-- Generous bounds that only stop a hung test; no assertion depends on how fast anything is.
local WAIT_MS = 30000

---@param name string
---@return string
function M.env(name)
  local value = vim.env[name]
  assert(value and value ~= "", name .. " is not set")
  return value
end

--- The real server, as the plugin's `cmd`.
---@return string[]
function M.server_cmd()
  return {
    M.env("SWITCHBOARD_TEST_PYTHON"),
    "-m",
    "switchboard.server",
    "--config",
    M.env("SWITCHBOARD_TEST_CONFIG"),
    "serve",
  }
end

--- Installs the plugin as a user would with `:packadd`, then calls setup().
---@param opts table?
function M.load_plugin(opts)
  local packpath = vim.fs.joinpath(M.work_dir, "site")
  local opt_dir = vim.fs.joinpath(packpath, "pack", "test", "opt")
  vim.fn.mkdir(opt_dir, "p")
  local link = vim.fs.joinpath(opt_dir, "switchboard")
  if not vim.uv.fs_stat(link) then
    assert(vim.uv.fs_symlink(M.plugin_dir, link))
  end
  vim.opt.packpath:prepend(packpath)
  vim.cmd.packadd("switchboard")
  require("switchboard").setup(vim.tbl_deep_extend("force", { cmd = M.server_cmd() }, opts or {}))
end

-- In a typing test (M.run_typing) the steps run in a coroutine that gives the main loop back
-- while it waits, so typed keys (nvim_input) are processed and Insert-mode autocommands fire.
local typing = false

--- Waits in a typing test: yields to the main loop until `predicate` holds (or time runs out).
---@param predicate fun(): boolean
---@return boolean
local function yield_until(predicate)
  local co = assert(coroutine.running(), "a typing test waits inside M.run_typing")
  local timer = assert(vim.uv.new_timer())
  local deadline = vim.uv.hrtime() + WAIT_MS * 1e6
  local finished = false
  timer:start(
    10,
    10,
    vim.schedule_wrap(function()
      if finished then
        return
      end
      local ok, done = pcall(predicate)
      if (ok and done) or vim.uv.hrtime() > deadline then
        finished = true
        timer:stop()
        timer:close()
        coroutine.resume(co, ok and done)
      end
    end)
  )
  return coroutine.yield()
end

---@param what string
---@param predicate fun(): boolean
function M.wait_for(what, predicate)
  local done
  if typing then
    done = predicate() or yield_until(predicate)
  else
    done = vim.wait(WAIT_MS, predicate, 10)
  end
  if not done then
    error("timed out waiting for " .. what, 2)
  end
end

--- Types `keys` (|nvim_input()| notation) and waits until Neovim has read them all.
---@param keys string
function M.type(keys)
  assert(typing, "M.type needs M.run_typing")
  local marker = false
  _G.switchboard_test_typed = function()
    marker = true
  end
  vim.api.nvim_input(keys .. "<Cmd>lua switchboard_test_typed()<CR>")
  M.wait_for(("the keys %s to be read"):format(keys), function()
    return marker
  end)
end

---@param actual any
---@param expected any
---@param what string
function M.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error(("%s: expected %s, got %s"):format(what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

---@param haystack string
---@param needle string
---@param what string
function M.contains(haystack, needle, what)
  if not haystack:find(needle, 1, true) then
    error(("%s: %s not found in:\n%s"):format(what, vim.inspect(needle), haystack), 2)
  end
end

---@param buf integer
---@return string
function M.text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, true), "\n")
end

--- Records vim.notify messages (and still prints them, for the test log).
---@return {message: string, level: integer}[]
function M.capture_notifications()
  local seen = {}
  vim.notify = function(message, level)
    table.insert(seen, { message = message, level = level or vim.log.levels.INFO })
    io.stdout:write(("notify[%s]: %s\n"):format(level, message))
  end
  return seen
end

---@param seen {message: string}[]
---@param needle string
---@return string?
function M.find_message(seen, needle)
  for _, entry in ipairs(seen) do
    if entry.message:find(needle, 1, true) then
      return entry.message
    end
  end
end

--- Waits for a captured notification containing `needle`, and returns it.
---@param seen {message: string}[]
---@param needle string
---@return string
function M.wait_for_message(seen, needle)
  local found
  M.wait_for(("a message with %q"):format(needle), function()
    found = M.find_message(seen, needle)
    return found ~= nil
  end)
  return found
end

--- Waits until the chat buffer's answer has finished streaming.
function M.wait_for_answer()
  M.wait_for("the answer to finish", function()
    return not require("switchboard.chat").is_streaming()
  end)
end

--- Writes `lines` to `name` in the work dir, edits it, and waits until switchboard attaches.
---@param name string
---@param lines string[]
---@return integer buf
function M.edit_attached(name, lines)
  local path = vim.fs.joinpath(M.work_dir, name)
  vim.fn.writefile(lines, path)
  vim.cmd.edit(path)
  local buf = vim.api.nvim_get_current_buf()
  M.wait_for("the client to attach", function()
    return #vim.lsp.get_clients({ bufnr = buf, name = "switchboard" }) == 1
  end)
  return buf
end

--- The running switchboard client, once initialized.
---@return vim.lsp.Client
function M.client()
  local client
  M.wait_for("the switchboard client", function()
    client = require("switchboard.server").ready_client()
    return client ~= nil
  end)
  return client
end

--- A synchronous request to the running server.
---@param method string
---@param params table?
---@return any
function M.request(method, params)
  local reply = M.client():request_sync(method, params or vim.empty_dict(), WAIT_MS)
  assert(reply, method .. ": no reply")
  assert(not reply.err, method .. ": " .. vim.inspect(reply.err))
  return reply.result
end

--- The entry with `id` in a list the server returned (switchboard/providers, switchboard/models).
---@param method string
---@param list_key string
---@param id string
---@return table
function M.entry(method, list_key, id)
  for _, entry in ipairs(M.request(method)[list_key]) do
    if entry.id == id then
      return entry
    end
  end
  error(("no %s in %s"):format(id, method))
end

---@param id string
function M.provider(id)
  return M.entry("switchboard/providers", "providers", id)
end

---@param id string
function M.model(id)
  return M.entry("switchboard/models", "models", id)
end

--- M.run for tests that type: run with `nvim --headless -c "luafile SCRIPT"`, where the main
--- loop reads typed keys (with `-l` it never does, and TextChangedI never fires).
---@param steps {[1]: string, [2]: fun()}[]
function M.run_typing(steps)
  typing = true
  vim.o.showmode = false
  coroutine.wrap(function()
    M.run(steps)
  end)()
end

--- Runs the named steps in order; the first failure ends nvim with exit code 1.
---@param steps {[1]: string, [2]: fun()}[]
function M.run(steps)
  for _, step in ipairs(steps) do
    io.stdout:write(("== %s\n"):format(step[1]))
    local ok, err = xpcall(step[2], debug.traceback)
    if not ok then
      io.stderr:write(("FAILED: %s\n%s\n"):format(step[1], err))
      vim.cmd("cquit 1")
    end
  end
  io.stdout:write("ALL PASSED\n")
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  vim.wait(WAIT_MS, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
  vim.cmd.qall({ bang = true })
end

return M
