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

t.run({
  {
    ":Switchboard login offers the providers with a sign-in flow",
    function()
      t.load_plugin()
      t.eq(t.provider("copilot").auth.status, "signedOut", "copilot before")
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
      t.contains(
        table.concat(offered, "\n"),
        "copilot — GitHub Copilot, not configured",
        "picker"
      )
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
      local shown = t.wait_for_message(notifications, code)
      t.contains(shown, uri, "the message names the page")
      t.eq(opened, { uri }, "vim.ui.open")
    end,
  },
  {
    "the sign-in completes and the outcome is reported",
    function()
      t.wait_for_message(notifications, "signed in to copilot")
      t.eq(t.provider("copilot").auth.status, "signedIn", "copilot after")
    end,
  },
  {
    ":Switchboard logout signs out",
    function()
      vim.cmd("Switchboard logout copilot")
      t.wait_for_message(notifications, "signed out of copilot")
      t.eq(t.provider("copilot").auth.status, "signedOut", "copilot after logout")
    end,
  },
  {
    ":Switchboard key stores a key the server checked",
    function()
      t.eq(t.provider("openai").auth.status, "signedOut", "openai before")
      local prompts = {}
      vim.fn.inputsecret = function(prompt)
        table.insert(prompts, prompt)
        return t.env("SWITCHBOARD_EXPECT_OPENAI_SECRET")
      end
      vim.cmd("Switchboard key openai")
      t.wait_for_message(notifications, "key stored for openai (checked)")
      t.eq(prompts, { "API key for openai: " }, "asked without echo")
      local openai = t.provider("openai")
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
