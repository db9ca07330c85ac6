--- :Switchboard login openrouter: OpenRouter's PKCE key flow through the browser, then a chat
--- with the issued key. vim.ui.open (the editor's door to the OS browser) writes the URL to
--- <work>/auth-url; the Python side plays the browser and writes <work>/browser-done
--- ("<status> <page text>"). SWITCHBOARD_EXPECT_MODEL and _CHAT come from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local AUTH_URL_FILE = vim.fs.joinpath(t.work_dir, "auth-url")
local BROWSER_DONE_FILE = vim.fs.joinpath(t.work_dir, "browser-done")
local opened = {}
vim.ui.open = function(url)
  table.insert(opened, url)
  -- Renamed into place, so the browser never reads half a URL.
  vim.fn.writefile({ url }, AUTH_URL_FILE .. ".part")
  assert(vim.uv.fs_rename(AUTH_URL_FILE .. ".part", AUTH_URL_FILE))
  return {}, nil
end

t.run({
  {
    "openrouter offers a browser sign-in and has no key yet",
    function()
      t.load_plugin()
      local openrouter = t.provider("openrouter")
      t.eq(openrouter.auth.status, "signedOut", "openrouter before")
      assert(
        vim.tbl_contains(openrouter.auth.methods or {}, "oauth"),
        "sign-in methods: " .. vim.inspect(openrouter.auth.methods)
      )
      t.eq(t.model(t.env("SWITCHBOARD_EXPECT_MODEL")).available, false, "model before sign-in")
    end,
  },
  {
    ":Switchboard login openrouter opens the authorization page in the browser",
    function()
      vim.cmd("Switchboard login openrouter")
      local shown =
        t.wait_for_message(notifications, "finish signing in to openrouter in the browser: ")
      t.wait_for("vim.ui.open", function()
        return #opened > 0
      end)
      t.eq(#opened, 1, "one page opened")
      local url = opened[1]
      t.contains(shown, url, "the message names the page")
      t.contains(url, "/auth?", "OpenRouter's authorization page")
      t.contains(url, "code_challenge_method=S256", "PKCE with S256")
      t.contains(url, "callback_url=http%3A%2F%2F127.0.0.1%3A", "a loopback callback")
    end,
  },
  {
    "once the browser comes back, the sign-in completes",
    function()
      t.wait_for("the browser", function()
        return vim.uv.fs_stat(BROWSER_DONE_FILE) ~= nil
      end)
      local page = table.concat(vim.fn.readfile(BROWSER_DONE_FILE), "\n")
      assert(vim.startswith(page, "200 "), "the callback page: " .. page)
      t.contains(page, "close this tab", "the callback page")
      t.wait_for_message(notifications, "signed in to openrouter")
      local openrouter = t.provider("openrouter")
      t.eq(openrouter.auth.status, "signedIn", "openrouter after")
      t.eq(openrouter.auth.source, "keyring", "the issued key is stored")
      t.eq(t.model(t.env("SWITCHBOARD_EXPECT_MODEL")).available, true, "model after sign-in")
    end,
  },
  {
    "a chat with an openrouter model goes through the issued key",
    function()
      local id = t.env("SWITCHBOARD_EXPECT_MODEL")
      vim.cmd("Switchboard model " .. id)
      vim.cmd("Switchboard chat Hello through the browser key.")
      t.wait_for_answer()
      local answer = t.env("SWITCHBOARD_EXPECT_CHAT")
      local expected = "## You\nHello through the browser key.\n\n## " .. id .. "\n" .. answer
      t.contains(t.text(require("switchboard.chat").buffer()), expected, "chat buffer")
      for _, entry in ipairs(notifications) do
        assert(entry.level < vim.log.levels.WARN, "unexpected warning: " .. entry.message)
        assert(not entry.message:find("sk-or-", 1, true), "a notification shows a key")
      end
    end,
  },
})
