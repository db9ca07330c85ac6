--- The chat as a place to work: `#selection` and `#buffer` attach the file the chat came from;
--- `gy` yanks a code block of the answer and `ga` applies it to the selection through a diff
--- (accepted with `ga` in the preview); the conversation is saved, and `:Switchboard history`
--- (a vim.ui.select picker over the server's journal) brings it back to go on with.
--- SWITCHBOARD_EXPECT_CODE (the code block of the first answer) comes from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local BEFORE = { "def add(a, b):", "    return a + b", "", "print(add(1, 2))" }
local chat -- switchboard.chat, once the plugin is loaded
local buf, chat_buf
local pickers = {}

vim.ui.select = function(items, opts, on_choice)
  table.insert(pickers, {
    kind = opts.kind,
    lines = vim.tbl_map(opts.format_item, items),
  })
  on_choice(items[1])
end

local function lines(b)
  return vim.api.nvim_buf_get_lines(b, 0, -1, true)
end

t.run({
  {
    "#selection sends the last Visual selection of the file the chat came from",
    function()
      t.load_plugin({ model = "openai/gpt-4o", ghost = false })
      chat = require("switchboard.chat")
      buf = t.edit_attached("calc.py", BEFORE)
      vim.api.nvim_feedkeys(vim.keycode("Vj<Esc>"), "x", false)
      vim.cmd("Switchboard chat Make it one line. #selection")
      t.wait_for_answer()
      chat_buf = vim.api.nvim_get_current_buf()
      local sent = chat.messages()[1].content
      t.contains(sent, "Make it one line. #selection\n\nFrom `calc.py` (lines 1-2):", "context")
      t.contains(sent, "```python\ndef add(a, b):\n    return a + b\n```", "the selection")
      t.eq(chat.target(), { buf = buf, first = 1, last = 2 }, "the apply target")
    end,
  },
  {
    "gy yanks the answer's code block",
    function()
      vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(chat_buf), 0 })
      vim.api.nvim_feedkeys("gy", "x", false)
      t.eq(vim.fn.getreg('"'), t.env("SWITCHBOARD_EXPECT_CODE") .. "\n", "yanked, linewise")
      t.eq(vim.fn.getregtype('"'), "V", "linewise")
    end,
  },
  {
    "ga shows the block in place of the selection as a diff, and ga there applies it",
    function()
      vim.api.nvim_feedkeys("ga", "x", false)
      local preview = require("switchboard.diff").current()
      assert(preview, "no diff preview")
      local expected = { t.env("SWITCHBOARD_EXPECT_CODE"), "", "print(add(1, 2))" }
      t.eq(lines(preview.proposed), expected, "proposed")
      t.eq(lines(buf), BEFORE, "not applied yet")
      vim.api.nvim_feedkeys("ga", "x", false)
      t.eq(lines(buf), expected, "applied")
      t.eq(require("switchboard.diff").current(), nil, "preview closed")
      t.eq(vim.api.nvim_get_current_buf(), chat_buf, "back in the chat")
    end,
  },
  {
    "#buffer sends the whole file as it is now",
    function()
      vim.cmd("Switchboard chat Explain #buffer")
      t.wait_for_answer()
      local sent = chat.messages()[3].content
      t.contains(sent, "Explain #buffer\n\nFile `calc.py`:\n\n```python\n", "context")
      t.contains(sent, t.env("SWITCHBOARD_EXPECT_CODE") .. "\n\nprint(add(1, 2))\n```", "file")
    end,
  },
  {
    ":Switchboard history lists the conversation and reopens it",
    function()
      vim.cmd("Switchboard! chat")
      t.eq(#chat.messages(), 0, "a fresh chat")
      vim.cmd("Switchboard history")
      t.wait_for("the history picker", function()
        return #pickers == 1
      end)
      t.eq(pickers[1].kind, "switchboard.history", "kind")
      t.eq(#pickers[1].lines, 1, "one conversation")
      t.contains(pickers[1].lines[1], "Make it one line. #selection · openai/gpt-4o", "entry")
      t.contains(pickers[1].lines[1], "· 2 answers · $", "answers and cost")
      t.eq(#chat.messages(), 4, "its turns are back")
      t.contains(t.text(0), "## You\nExplain #buffer", "shown")
      t.contains(t.text(0), "## openai/gpt-4o\n" .. t.env("SWITCHBOARD_EXPECT_EXPLAIN"), "shown")
    end,
  },
  {
    "the reopened conversation goes on, under the same entry",
    function()
      vim.cmd("Switchboard chat And once more?")
      t.wait_for_answer()
      t.eq(#chat.messages(), 6, "six turns")
      vim.cmd("Switchboard history")
      t.wait_for("the history picker", function()
        return #pickers == 2
      end)
      t.eq(#pickers[2].lines, 1, "still one conversation")
      t.contains(pickers[2].lines[1], "· 3 answers · $", "three answers")
      t.eq(t.find_message(notifications, "rror"), nil, "no errors")
    end,
  },
})
