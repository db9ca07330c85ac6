--- :checkhealth switchboard, with the real server and with a missing one.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local MISSING = vim.fs.joinpath(t.work_dir, "no-such-switchboard")

local function checkhealth()
  vim.cmd("checkhealth switchboard")
  local text = t.text(vim.api.nvim_get_current_buf())
  io.stdout:write(text, "\n")
  vim.cmd.bwipeout()
  return text
end

t.run({
  {
    ":checkhealth switchboard reports OK",
    function()
      t.load_plugin()
      local text = checkhealth()
      t.contains(
        text,
        "switchboard:                                                                ✅",
        "summary"
      )
      t.contains(text, "OK server command: " .. table.concat(t.server_cmd(), " "), "server")
      t.contains(text, "OK version: switchboard ", "version")
      t.contains(text, "OK tokenizer o200k_base: ok", "tokenizer")
      t.contains(text, "OK tokenizer cl100k_base: ok", "tokenizer")
      t.contains(text, "OK connected: switchboard ", "connected")
      t.contains(text, "OK openai: signed in (env:OPENAI_API_KEY)", "openai")
      t.contains(text, "- copilot: not configured (ways in: device, ", "copilot")
      -- No AWS or Google credentials anywhere the server looks: not "signed in".
      for _, provider in ipairs({ "bedrock", "vertex" }) do
        t.contains(text, ("\n- %s: not configured"):format(provider), provider)
      end
      assert(not text:find("ERROR", 1, true), "no errors")
      assert(not text:find("WARNING", 1, true), "no warnings")
    end,
  },
  {
    "a missing server is an error that says how to install it",
    function()
      vim.lsp.enable("switchboard", false)
      t.wait_for("the client to stop", function()
        return #vim.lsp.get_clients({ name = "switchboard" }) == 0
      end)
      require("switchboard").setup({ cmd = { MISSING, "serve" } })
      local text = checkhealth()
      t.contains(text, ("ERROR `%s` is not executable"):format(MISSING), "error")
      t.contains(text, "so that `switchboard` is on PATH", "advice")
    end,
  },
  {
    "a chat without a server says so",
    function()
      vim.cmd("Switchboard chat hello?")
      t.wait_for_answer()
      t.contains(
        t.find_message(notifications, "could not start the server") or "",
        MISSING,
        "notification"
      )
      t.contains(t.text(0), "> **Failed:** the server is not running\n\n## You\nhello?", "chat")
    end,
  },
  {
    "a server that exits at once is reported",
    function()
      require("switchboard").setup({
        cmd = { t.env("SWITCHBOARD_TEST_PYTHON"), "-c", "raise SystemExit(3)" },
      })
      vim.cmd("Switchboard chat still there?")
      t.wait_for_answer()
      local message = t.find_message(notifications, "exited before it was ready")
      t.contains(message or "", "(code 3, signal 0)", "notification")
    end,
  },
})
