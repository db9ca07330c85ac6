--- The server's code actions through Neovim's own vim.lsp.buf.code_action(): "explain with
--- comments" on a visual selection runs switchboard.rewrite and Neovim applies the edit the server
--- sends, at once since setup() turns the diff preview off.
--- SWITCHBOARD_EXPECT_EXPLAINED (the function with its comment) comes from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local BEFORE = { "def add(a, b):", "    return a + b", "", "print(add(1, 2))" }
local buf

t.run({
  {
    "a Python buffer attaches",
    function()
      t.load_plugin({
        settings = { defaultModel = "openai/gpt-4o-mini" },
        diff = { preview = false },
      })
      buf = t.edit_attached("calc.py", BEFORE)
    end,
  },
  {
    "explain with comments rewrites the selected function in place",
    function()
      local titles = {}
      vim.lsp.buf.code_action({
        range = { start = { 1, 0 }, ["end"] = { 2, #BEFORE[2] } },
        filter = function(action)
          table.insert(titles, action.title)
          return action.title == "Switchboard: explain with comments"
        end,
        apply = true,
      })
      local expected = vim.split(t.env("SWITCHBOARD_EXPECT_EXPLAINED"), "\n", { plain = true })
      vim.list_extend(expected, { "", "print(add(1, 2))" })
      t.wait_for("the rewrite to be applied", function()
        return vim.deep_equal(vim.api.nvim_buf_get_lines(buf, 0, -1, true), expected)
      end)
      t.eq(
        titles,
        { "Switchboard: explain with comments", "Switchboard: simplify" },
        "actions offered"
      )
      vim.cmd("silent undo")
      t.eq(vim.api.nvim_buf_get_lines(buf, 0, -1, true), BEFORE, "one undo restores it")
      t.eq(t.find_message(notifications, "not applied"), nil, "no failure shown")
    end,
  },
})
