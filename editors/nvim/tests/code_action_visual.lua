--- Code actions the way a user runs them: a Visual selection, then Neovim's own `gra`
--- (vim.lsp.buf.code_action() from Visual mode), the choice made through vim.ui.select, and the
--- server's edit shown as a diff before anything changes. `ga` applies it, `q` drops it.
--- A file with no filetype gets the actions too, through `:'<,'>Switchboard action`.
--- SWITCHBOARD_EXPECT_EXPLAINED and SWITCHBOARD_EXPECT_SIMPLIFIED come from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local BEFORE = { "def add(a, b):", "    return a + b", "", "print(add(1, 2))" }
local buf
local offered = {}
local ranges = {}
local choose = nil

local function lines(b)
  return vim.api.nvim_buf_get_lines(b or buf, 0, -1, true)
end

--- What the server's diff preview holds, once it is on screen.
local function wait_for_preview()
  local preview
  t.wait_for("the diff preview", function()
    preview = require("switchboard.diff").current()
    return preview ~= nil
  end)
  return preview
end

local function expected_after(env_name)
  local expected = vim.split(t.env(env_name), "\n", { plain = true })
  return vim.list_extend(expected, { "", "print(add(1, 2))" })
end

t.run_typing({
  {
    "a Python buffer attaches; code actions are picked through vim.ui.select",
    function()
      t.load_plugin({ settings = { defaultModel = "openai/gpt-4o-mini" }, ghost = false })
      buf = t.edit_attached("calc.py", BEFORE)
      local client = t.client()
      local request = client.request
      client.request = function(self, method, params, ...)
        if method == "textDocument/codeAction" then
          table.insert(ranges, params.range)
        end
        return request(self, method, params, ...)
      end
      -- What the server tells the user (window/showMessage), as Neovim shows it.
      local show_message = client.handlers["window/showMessage"]
        or vim.lsp.handlers["window/showMessage"]
      client.handlers["window/showMessage"] = function(err, result, ctx)
        table.insert(notifications, { message = result.message, level = result.type })
        return show_message(err, result, ctx)
      end
      vim.ui.select = function(items, opts, on_choice)
        offered = vim.tbl_map(function(item)
          return opts.format_item(item)
        end, items)
        for _, item in ipairs(items) do
          if item.action.title == choose then
            return on_choice(item)
          end
        end
        on_choice(nil)
      end
    end,
  },
  {
    "Vj then gra sends the selected lines, and the edit waits in a diff",
    function()
      choose = "Switchboard: explain with comments"
      vim.api.nvim_win_set_cursor(0, { 1, 0 })
      t.type("Vjgra")
      local preview = wait_for_preview()
      t.eq(
        ranges[1],
        { start = { line = 0, character = 0 }, ["end"] = { line = 1, character = 16 } },
        "range"
      )
      t.eq(offered, { "Switchboard: explain with comments", "Switchboard: simplify" }, "offered")
      t.eq(lines(preview.proposed), expected_after("SWITCHBOARD_EXPECT_EXPLAINED"), "proposed")
      t.eq(lines(preview.current), BEFORE, "current side")
      t.eq(vim.api.nvim_get_current_tabpage(), preview.tab, "the preview has the focus")
      t.eq(vim.wo.diff, true, "diff mode")
      t.eq(lines(), BEFORE, "nothing applied before the answer")
      t.type("ga")
      t.wait_for("the edit to be applied", function()
        return vim.deep_equal(lines(), expected_after("SWITCHBOARD_EXPECT_EXPLAINED"))
      end)
      t.eq(require("switchboard.diff").current(), nil, "the preview is gone")
      t.eq(#vim.api.nvim_list_tabpages(), 1, "its tab closed")
      vim.cmd("silent undo")
      t.eq(lines(), BEFORE, "one undo restores it")
    end,
  },
  {
    "q in the preview drops the edit and the server hears that it was rejected",
    function()
      choose = "Switchboard: simplify"
      vim.api.nvim_win_set_cursor(0, { 1, 0 })
      t.type("vj$gra")
      local preview = wait_for_preview()
      -- `$` in charwise Visual mode takes the line's end too: Neovim sends one past the last
      -- character, and the server keeps the line break out of the rewrite.
      t.eq(
        ranges[2],
        { start = { line = 0, character = 0 }, ["end"] = { line = 1, character = 17 } },
        "range"
      )
      t.eq(
        lines(preview.proposed),
        { t.env("SWITCHBOARD_EXPECT_SIMPLIFIED"), "", "print(add(1, 2))" },
        "proposed"
      )
      t.type("q")
      t.wait_for("the preview to close", function()
        return require("switchboard.diff").current() == nil
      end)
      t.wait_for_message(notifications, "rejected in the preview")
      t.eq(lines(), BEFORE, "unchanged")
    end,
  },
  {
    "a file with no filetype attaches, and :'<,'>Switchboard action offers the actions",
    function()
      local plain = t.edit_attached("calcfile", BEFORE)
      t.eq(vim.bo[plain].filetype, "", "no filetype")
      choose = "Switchboard: explain with comments"
      vim.cmd("1,2Switchboard action")
      local preview = wait_for_preview()
      t.eq(
        ranges[3],
        { start = { line = 0, character = 0 }, ["end"] = { line = 1, character = 16 } },
        "range"
      )
      t.eq(lines(preview.proposed), expected_after("SWITCHBOARD_EXPECT_EXPLAINED"), "proposed")
      t.type("ga")
      t.wait_for("the edit to be applied", function()
        return vim.deep_equal(lines(plain), expected_after("SWITCHBOARD_EXPECT_EXPLAINED"))
      end)
    end,
  },
})
