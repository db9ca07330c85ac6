--- :Switchboard login (GitHub device flow against a fake), logout, and key (an API key checked
--- by the fake OpenAI). SWITCHBOARD_EXPECT_USER_CODE, _VERIFICATION_URI and _OPENAI_SECRET
--- come from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local opened = {}
vim.ui.open = function(url)
  table.insert(opened, url)
  return {}, nil
end

local function provider(id)
  for _, entry in ipairs(t.request("switchboard/providers").providers) do
    if entry.id == id then
      return entry
    end
  end
  error("no provider " .. id)
end

local function wait_for_message(needle)
  local found
  t.wait_for(("a message with %q"):format(needle), function()
    found = t.find_message(notifications, needle)
    return found ~= nil
  end)
  return found
end

t.run({
  {
    ":Switchboard login offers the providers with a sign-in flow",
    function()
      t.load_plugin()
      t.eq(provider("copilot").auth.status, "signedOut", "copilot before")
      local offered
      vim.ui.select = function(items, opts, on_choice)
        offered = vim.tbl_map(opts.format_item, items)
        for _, item in ipairs(items) do
          if item.id == "copilot" then
            return on_choice(item)
          end
        end
      end
      vim.cmd("Switchboard login")
      t.wait_for("the provider picker", function()
        return offered ~= nil
      end)
      t.contains(table.concat(offered, "\n"), "copilot — GitHub Copilot, signed out", "picker")
      for _, line in ipairs(offered) do
        assert(not vim.startswith(line, "anthropic"), "anthropic has no sign-in flow: " .. line)
      end
    end,
  },
  {
    "the device code is shown and the verification page opened",
    function()
      local code = t.env("SWITCHBOARD_EXPECT_USER_CODE")
      local uri = t.env("SWITCHBOARD_EXPECT_VERIFICATION_URI")
      local shown = wait_for_message(code)
      t.contains(shown, uri, "the message names the page")
      t.eq(opened, { uri }, "vim.ui.open")
    end,
  },
  {
    "the sign-in completes and the outcome is reported",
    function()
      wait_for_message("signed in to copilot")
      t.eq(provider("copilot").auth.status, "signedIn", "copilot after")
    end,
  },
  {
    ":Switchboard logout signs out",
    function()
      vim.cmd("Switchboard logout copilot")
      wait_for_message("signed out of copilot")
      t.eq(provider("copilot").auth.status, "signedOut", "copilot after logout")
    end,
  },
  {
    ":Switchboard key stores a key the server checked",
    function()
      t.eq(provider("openai").auth.status, "signedOut", "openai before")
      local prompts = {}
      vim.fn.inputsecret = function(prompt)
        table.insert(prompts, prompt)
        return t.env("SWITCHBOARD_EXPECT_OPENAI_SECRET")
      end
      vim.cmd("Switchboard key openai")
      wait_for_message("key stored for openai (checked)")
      t.eq(prompts, { "API key for openai: " }, "asked without echo")
      local openai = provider("openai")
      t.eq(openai.auth.status, "signedIn", "openai after")
      t.eq(openai.auth.source, "keyring", "stored in the keyring")
      for _, entry in ipairs(notifications) do
        assert(
          not entry.message:find(t.env("SWITCHBOARD_EXPECT_OPENAI_SECRET"), 1, true),
          "key echoed"
        )
      end
    end,
  },
})
