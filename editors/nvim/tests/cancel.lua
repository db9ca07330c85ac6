--- <C-c> in the chat stops a long answer: the upstream connection closes while Neovim still runs
--- (the Python side writes SWITCHBOARD_TEST_WORK/upstream-closed when its fake sees it), the
--- partial answer stays, and the next question is answered (SWITCHBOARD_EXPECT_AFTER).
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local chat
local partial

t.run({
  {
    "<C-c> in the chat buffer cancels the streaming answer",
    function()
      t.load_plugin({ model = "openai/gpt-4o" })
      chat = require("switchboard.chat")
      vim.cmd("Switchboard chat Count for a long time.")
      local buf = vim.api.nvim_get_current_buf()
      t.wait_for("some streamed text", function()
        return t.text(buf):find("tok tok tok", 1, true) ~= nil
      end)
      t.eq(chat.is_streaming(), true, "still streaming")
      vim.api.nvim_feedkeys(vim.keycode("<C-c>"), "x", false)
      t.eq(chat.is_streaming(), false, "stopped")
      partial = t.text(buf)
      t.contains(partial, "\n_cancelled_\n\n## You\n", "the chat says it was cancelled")
    end,
  },
  {
    "the upstream connection closes while Neovim runs",
    function()
      local flag = vim.fs.joinpath(t.work_dir, "upstream-closed")
      t.wait_for("the fake provider to see the disconnect", function()
        return vim.uv.fs_stat(flag) ~= nil
      end)
      local buf = require("switchboard.chat").buffer()
      t.eq(t.text(buf), partial, "nothing arrives after the cancel")
      local answer = partial:match("## openai/gpt%-4o\n(tok [^\n]*)\n")
      assert(answer, "the partial answer stays in the buffer")
      local history = require("switchboard.chat").messages()
      t.eq(
        history[2],
        { role = "assistant", content = answer },
        "the partial answer stays in the history"
      )
    end,
  },
  {
    "the next question is answered",
    function()
      vim.cmd("Switchboard chat And now?")
      t.wait_for_answer()
      t.contains(
        t.text(require("switchboard.chat").buffer()),
        "## You\nAnd now?\n\n## openai/gpt-4o\n" .. t.env("SWITCHBOARD_EXPECT_AFTER") .. "\n",
        "answer after the cancel"
      )
      t.eq(t.request("switchboard/usage").session.requests, 1, "only the finished answer counts")
    end,
  },
})
