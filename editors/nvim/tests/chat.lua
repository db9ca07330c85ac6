--- Chat, statusline, usage, model picker, ask, complete, settings, keymaps, log, help.
--- The fakes answer, in this order: SWITCHBOARD_EXPECT_CHAT, _FOLLOW_UP, _ASK, _COMPLETE (OpenAI),
--- then _THINKING + _AFTER_THINKING, then the error _ERROR (Anthropic).
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local SOURCE = vim.fs.joinpath(t.work_dir, "hello.py")
local chat_buf

local function chat_text()
  return t.text(require("switchboard.chat").buffer())
end

t.run({
  {
    "setup() attaches the server to a file's buffer",
    function()
      vim.fn.writefile({ "def add(a, b):", "    return a + b", "" }, SOURCE)
      t.load_plugin({
        settings = { defaultModel = "openai/gpt-4o" },
        complete_model = "openai/gpt-4o-mini",
      })
      vim.cmd.edit(SOURCE)
      local buf = vim.api.nvim_get_current_buf()
      t.wait_for("the client to attach to hello.py", function()
        return #vim.lsp.get_clients({ bufnr = buf, name = "switchboard" }) == 1
      end)
      local client = t.client()
      t.eq(client.server_info.name, "switchboard", "server name")
      t.eq(client.config.cmd, t.server_cmd(), "cmd")
    end,
  },
  {
    "settings reach the server as init_options",
    function()
      local defaults = vim.tbl_filter(function(model)
        return model.isDefault
      end, t.request("switchboard/models").models)
      t.eq(#defaults, 1, "one default model")
      t.eq(defaults[1].id, "openai/gpt-4o", "default model from setup({settings})")
    end,
  },
  {
    "chat streams the answer into a markdown buffer, with work-done progress",
    function()
      local progress, status_while_streaming = {}, nil
      vim.api.nvim_create_autocmd("LspProgress", {
        callback = function(args)
          local kind = args.data.params.value.kind
          table.insert(progress, kind)
          if kind == "begin" then
            status_while_streaming = require("switchboard").statusline()
          end
        end,
      })
      local partial_seen = false
      local expected = t.env("SWITCHBOARD_EXPECT_CHAT")
      vim.cmd("Switchboard chat Say hello.")
      chat_buf = vim.api.nvim_get_current_buf()
      t.eq(vim.bo[chat_buf].filetype, "markdown", "chat filetype")
      vim.api.nvim_buf_attach(chat_buf, false, {
        on_lines = function()
          local text = t.text(chat_buf)
          local answer = text:match("## openai/gpt%-4o\n([^\n]*)$")
          if
            answer
            and answer ~= ""
            and answer ~= expected
            and vim.startswith(expected, answer)
          then
            partial_seen = true
          end
        end,
      })
      t.wait_for_answer()
      t.eq(status_while_streaming, "⋯", "statusline while the first answer streams")
      local text = chat_text()
      t.contains(
        text,
        "## You\nSay hello.\n\n## openai/gpt-4o\n" .. expected .. "\n",
        "chat buffer"
      )
      assert(partial_seen, "the buffer never showed part of the answer before the whole")
      t.eq(progress[1], "begin", "first LspProgress")
      t.eq(progress[#progress], "end", "last LspProgress")
      t.eq(
        vim.api.nvim_win_get_cursor(0)[1],
        vim.api.nvim_buf_line_count(chat_buf),
        "cursor follows"
      )
    end,
  },
  {
    "the statusline shows the session's tokens and cost",
    function()
      t.wait_for("usageChanged", function()
        return require("switchboard.statusline").usage.session ~= nil
      end)
      local expected = t.env("SWITCHBOARD_EXPECT_STATUS")
      t.eq(require("switchboard").statusline(), expected, "statusline")
      -- As in the help: a plain 'statusline' expression.
      vim.o.statusline = "%f %= %{v:lua.require'switchboard'.statusline()} "
      local drawn = vim.api.nvim_eval_statusline(vim.o.statusline, { maxwidth = 200 }).str
      t.contains(drawn, " " .. expected .. " ", "drawn statusline")
      -- lualine loads "switchboard" from lua/lualine/components/ and calls the function it returns.
      local lualine_component = require("lualine.components.switchboard")
      t.eq(type(lualine_component), "function", "the lualine component is a function component")
      t.eq(lualine_component(), expected, "the lualine component's text")
      local session = t.request("switchboard/usage").session
      t.eq(
        require("switchboard.statusline").usage.session,
        session,
        "statusline totals = switchboard/usage"
      )
      t.contains(chat_text(), t.env("SWITCHBOARD_EXPECT_FOOTER"), "the answer's footer")
    end,
  },
  {
    ":Switchboard usage shows the totals in a float",
    function()
      vim.cmd("Switchboard usage")
      local float
      t.wait_for("the usage float", function()
        float = vim.api.nvim_win_get_config(0).relative ~= "" and vim.api.nvim_get_current_win()
          or nil
        return float ~= nil
      end)
      local text = t.text(vim.api.nvim_win_get_buf(float))
      t.contains(
        text,
        "Session: 1 requests · " .. t.env("SWITCHBOARD_EXPECT_FOOTER"),
        "usage float"
      )
      t.contains(text, "openai/gpt-4o: 1 requests", "usage by model")
      vim.api.nvim_feedkeys("q", "x", false)
      t.eq(vim.api.nvim_win_is_valid(float), false, "q closes the float")
    end,
  },
  {
    "command completion offers subcommands and model ids",
    function()
      t.eq(vim.fn.getcompletion("Switchboard mo", "cmdline"), { "model" }, "subcommand")
      t.eq(vim.fn.getcompletion("Switchboard ", "cmdline"), {
        "action",
        "ask",
        "chat",
        "complete",
        "ghost",
        "history",
        "key",
        "log",
        "login",
        "logout",
        "model",
        "usage",
      }, "all subcommands")
      local ids = vim.fn.getcompletion("Switchboard model openai/gpt-4o", "cmdline")
      assert(vim.tbl_contains(ids, "openai/gpt-4o-mini"), vim.inspect(ids))
      local providers = vim.fn.getcompletion("Switchboard login cop", "cmdline")
      t.eq(providers, { "copilot" }, "provider ids")
    end,
  },
  {
    ":Switchboard model picks from switchboard/models, and chat uses it",
    function()
      local shown
      vim.ui.select = function(items, opts, on_choice)
        shown = vim.tbl_map(opts.format_item, items)
        for _, item in ipairs(items) do
          if item.id == "openai/gpt-4o-mini" then
            return on_choice(item)
          end
        end
        error("gpt-4o-mini not offered")
      end
      vim.cmd("Switchboard model")
      t.wait_for("the picker", function()
        return shown ~= nil
      end)
      local line = vim.tbl_filter(function(item)
        return item:find("openai/gpt-4o-mini", 1, true) ~= nil
      end, shown)[1]
      t.contains(line, "✓ openai/gpt-4o-mini · 128k ctx", "picker line")
      t.contains(line, "per MTok", "picker line shows the price")
      assert(shown[1]:sub(1, 3) == "✓", "available models first: " .. shown[1])
      t.eq(require("switchboard.config").chat_model(), "openai/gpt-4o-mini", "chosen model")

      vim.api.nvim_set_current_win(vim.fn.win_findbuf(chat_buf)[1])
      vim.api.nvim_buf_set_lines(chat_buf, -2, -1, true, { "And once more?" })
      vim.api.nvim_feedkeys(vim.keycode("<CR>"), "x", false)
      t.wait_for_answer()
      local follow_up = t.env("SWITCHBOARD_EXPECT_FOLLOW_UP")
      t.contains(
        chat_text(),
        "## You\nAnd once more?\n\n## openai/gpt-4o-mini\n" .. follow_up,
        "follow-up"
      )
      t.eq(#require("switchboard.chat").messages(), 4, "history: two turns")
    end,
  },
  {
    "ask sends the visual selection with the file name",
    function()
      vim.cmd.wincmd("p")
      vim.cmd.edit(SOURCE)
      vim.cmd("normal! ggVj")
      vim.api.nvim_feedkeys(vim.keycode(":Switchboard ask What does this do?<CR>"), "x", false)
      t.wait_for_answer()
      local question = table.concat({
        "## You",
        "What does this do?",
        "",
        "From `hello.py` (lines 1-2):",
        "",
        "```python",
        "def add(a, b):",
        "    return a + b",
        "```",
        "",
        "## openai/gpt-4o-mini",
        t.env("SWITCHBOARD_EXPECT_ASK"),
      }, "\n")
      t.contains(chat_text(), question, "ask")
    end,
  },
  {
    "a characterwise selection is sent exactly",
    function()
      vim.cmd.wincmd("p")
      vim.cmd("normal! gg0wvf)\27")
      local selection = require("switchboard.ask").selection(1, 1)
      t.eq(selection.text, "add(a, b)", "characterwise selection")
      vim.cmd.wincmd("p")
    end,
  },
  {
    "complete puts the completion model's text at the cursor, in one undo step",
    function()
      vim.cmd.wincmd("p")
      local path = vim.fs.joinpath(t.work_dir, "poem.txt")
      vim.fn.writefile({ "Roses are red, ", "the end" }, path)
      vim.cmd.edit(path)
      vim.api.nvim_win_set_cursor(0, { 1, 14 })
      vim.cmd("Switchboard complete")
      local buf = vim.api.nvim_get_current_buf()
      t.wait_for("the completion", function()
        return not require("switchboard.complete").is_running(buf)
      end)
      local expected = "Roses are red, " .. t.env("SWITCHBOARD_EXPECT_COMPLETE")
      t.eq(vim.api.nvim_buf_get_lines(buf, 0, -1, true), { expected, "the end" }, "completed text")
      t.eq(vim.fn.maparg("<C-c>", "n"), "", "the cancel mapping is gone")
      vim.cmd("silent normal! u")
      t.eq(
        vim.api.nvim_buf_get_lines(buf, 0, -1, true),
        { "Roses are red, ", "the end" },
        "one undo"
      )
    end,
  },
  {
    "thinking streams as a blockquote before the answer",
    function()
      local model = t.env("SWITCHBOARD_THINKING_MODEL")
      vim.cmd("Switchboard model " .. model)
      vim.cmd("Switchboard chat Think first.")
      t.wait_for_answer()
      local expected = table.concat({
        "## " .. model,
        "> " .. t.env("SWITCHBOARD_EXPECT_THINKING"):gsub("\n", "\n> "),
        "",
        t.env("SWITCHBOARD_EXPECT_AFTER_THINKING"),
      }, "\n")
      t.contains(chat_text(), expected, "thinking")
      local history = require("switchboard.chat").messages()
      t.eq(
        history[#history].content,
        t.env("SWITCHBOARD_EXPECT_AFTER_THINKING"),
        "answer text only"
      )
    end,
  },
  {
    "a failed request says why and offers the question again",
    function()
      local before = #require("switchboard.chat").messages()
      vim.cmd("Switchboard chat Too long?")
      t.wait_for_answer()
      local text = chat_text()
      local failure = text:match(
        "\n## You\nToo long%?\n\n## [^\n]+\n(> %*%*Failed:%*%* [^\n]+)\n\n## You\nToo long%?$"
      )
      assert(failure, "the failure under the answer heading, then the question again:\n" .. text)
      t.contains(failure, t.env("SWITCHBOARD_EXPECT_ERROR"), "the provider's message")
      t.contains(failure, "(invalidRequest)", "the normalized code")
      t.eq(#require("switchboard.chat").messages(), before, "the failed turn is not in the history")
    end,
  },
  {
    "setup() again sends the new settings; keymaps only when asked",
    function()
      t.eq(vim.fn.maparg("<leader>ac", "n"), "", "no default keymaps")
      require("switchboard").setup({
        cmd = t.server_cmd(),
        settings = { defaultModel = "openai/gpt-4.1" },
        keymaps = true,
      })
      t.eq(#vim.lsp.get_clients({ name = "switchboard" }), 1, "still one client")
      local default = vim.tbl_filter(function(model)
        return model.isDefault
      end, t.request("switchboard/models").models)[1]
      t.eq(default.id, "openai/gpt-4.1", "default model after didChangeConfiguration")
      t.eq(vim.fn.maparg("<leader>ac", "n"), "<Cmd>Switchboard chat<CR>", "chat keymap")
      t.eq(vim.fn.maparg("<leader>aa", "x"), ":Switchboard ask<CR>", "ask keymap")
    end,
  },
  {
    ":Switchboard! chat starts over; a deleted chat buffer comes back",
    function()
      vim.cmd("Switchboard! chat")
      local buf = vim.api.nvim_get_current_buf()
      t.eq(require("switchboard.chat").messages(), {}, "no history")
      assert(not t.text(buf):find("## openai", 1, true), "a fresh buffer")
      vim.cmd.bdelete({ args = { tostring(buf) }, bang = true })
      vim.cmd("Switchboard chat")
      t.eq(vim.api.nvim_buf_get_name(0), "switchboard://chat", "chat buffer name")
      t.contains(t.text(0), "## You", "a fresh chat")
    end,
  },
  {
    ":Switchboard log opens the server log",
    function()
      vim.cmd("Switchboard log")
      local name = vim.api.nvim_buf_get_name(0)
      t.eq(
        name,
        vim.fs.joinpath(t.env("SWITCHBOARD_DATA_DIR"), "logs", "switchboard.log"),
        "log path"
      )
      assert(vim.api.nvim_buf_line_count(0) > 1, "the log has lines")
    end,
  },
  {
    "the help file has valid tags",
    function()
      local doc = vim.fs.joinpath(t.work_dir, "help", "doc")
      vim.fn.mkdir(doc, "p")
      vim.fn.writefile(
        vim.fn.readfile(vim.fs.joinpath(t.plugin_dir, "doc", "switchboard.txt")),
        doc .. "/switchboard.txt"
      )
      vim.cmd.helptags(doc)
      vim.opt.rtp:prepend(vim.fs.dirname(doc))
      for _, tag in ipairs({
        "switchboard.txt",
        ":Switchboard",
        "switchboard-setup",
        "switchboard-statusline",
        "switchboard-ghost",
        ":Switchboard-ghost",
        "switchboard-ghost-keys",
      }) do
        vim.cmd.help(tag)
        t.eq(vim.fs.basename(vim.api.nvim_buf_get_name(0)), "switchboard.txt", "help " .. tag)
      end
      t.eq(t.find_message(notifications, "rror"), nil, "no error notifications")
    end,
  },
})
