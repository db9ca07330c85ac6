--- `:Switchboard complete` with `fast_model` in setup(): the server's completion goes to that
--- model (no completion model is set and no provider fills in the middle), and the model's code
--- fences never reach the buffer. SWITCHBOARD_EXPECT_COMPLETE (the code inside the fences) comes
--- from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local BEFORE = { "def mul(a, b):", "    ", "" }
local buf

t.run({
  {
    "setup() sends fast_model as the server's fastModel",
    function()
      t.load_plugin({ fast_model = t.env("SWITCHBOARD_FAST_MODEL"), ghost = false })
      t.eq(
        require("switchboard.config").server_settings(),
        { fastModel = t.env("SWITCHBOARD_FAST_MODEL") },
        "settings"
      )
      buf = t.edit_attached("mul.py", BEFORE)
    end,
  },
  {
    ":Switchboard complete inserts the code without its fences",
    function()
      vim.api.nvim_win_set_cursor(0, { 2, 3 })
      vim.cmd("Switchboard complete")
      t.wait_for("the completion", function()
        return not require("switchboard.complete").is_running(buf)
      end)
      local text = t.text(buf)
      t.eq(text, "def mul(a, b):\n    " .. t.env("SWITCHBOARD_EXPECT_COMPLETE") .. "\n", "buffer")
      assert(not text:find("```", 1, true), "no fence in the buffer")
      t.eq(t.find_message(notifications, "rror"), nil, "no error notifications")
    end,
  },
})
