--- Ghost text as you type, with keys typed into a real Insert mode (run with -c luafile).
--- The fake local server suggests by the line before the cursor (the Python side holds the
--- table; SWITCHBOARD_EXPECT_* repeat what it answers); the Anthropic fake answers the chat
--- fallback of `:Switchboard complete`, in code fences. The Python side writes the files
-- upstream-open and upstream-closed when the fake's slow answer starts and is cut off.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local ghost_ns = vim.api.nvim_create_namespace("switchboard.ghost")
-- Each line lacks the one character the test types, so that typing asks for a suggestion.
local LINES = {
  "def add(a, b):",
  "    re", -- + "t": "urn a + b"
  "def pick(a, b):",
  "    if ", -- + "a": ":\n        return a\n    return b"
  "def rate(total):",
  "    x = com", -- + "p": "ute(total, rate)"
  "    total = s", -- + "u": "m(values)"
  "    y = 1",
  "def mul(a, b):",
  "    ",
  "    wait", -- + "s": an answer so slow that only a cancel ends it; then + "x"
  "    total = s", -- + "u" again
}
local buf

--- The ghost text on show: its inline text and its virtual lines, as strings.
---@return {inline: string, lines: string[], pos: string?}?
local function ghost()
  local marks = vim.api.nvim_buf_get_extmarks(buf, ghost_ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  t.eq(#marks, 1, "one ghost extmark")
  local details = marks[1][4]
  local function joined(chunks)
    return table.concat(vim.tbl_map(function(chunk)
      return chunk[1]
    end, chunks or {}))
  end
  return {
    inline = joined(details.virt_text),
    lines = vim.tbl_map(joined, details.virt_lines or {}),
    pos = details.virt_text_pos,
  }
end

---@param expected string
local function wait_for_ghost(expected)
  t.wait_for(("the ghost text %q"):format(expected), function()
    local shown = ghost()
    return shown ~= nil and shown.inline == expected
  end)
end

---@param row integer 1-based
---@return string
local function line(row)
  return vim.api.nvim_buf_get_lines(buf, row - 1, row, true)[1]
end

--- Leaves Insert mode, then starts it again at the end of `row`.
---@param row integer
local function append_at(row)
  t.type("<Esc>")
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  t.type("A")
end

t.run_typing({
  {
    "setup() turns ghost text on and maps the keys, keeping the user's own <C-]>",
    function()
      vim.keymap.set("i", "<C-]>", "[own]")
      t.load_plugin({})
      buf = t.edit_attached("calc.py", LINES)
      vim.bo[buf].expandtab, vim.bo[buf].shiftwidth, vim.bo[buf].softtabstop = true, 4, 4
      vim.bo[buf].indentexpr, vim.bo[buf].autoindent = "", false
      local inline = require("switchboard.inline")
      t.eq(inline.engine_name(), "plugin", "the engine on 0.11")
      t.eq(inline.is_enabled(), true, "on by default")
      t.eq(
        vim.fn.maparg("<Tab>", "i", false, true).desc,
        "Switchboard: accept the suggestion",
        "<Tab>"
      )
      local dismiss = vim.fn.maparg("<C-]>", "i", false, true)
      t.eq(dismiss.desc, "Switchboard: dismiss the suggestion", "<C-]>")
    end,
  },
  {
    "typing, then a pause: the fake's suggestion shows inline at the cursor",
    function()
      append_at(2)
      t.type("t")
      local expected = t.env("SWITCHBOARD_EXPECT_RET")
      wait_for_ghost(expected)
      local shown = assert(ghost())
      t.eq(shown.pos, "inline", "virt_text_pos")
      t.eq(shown.lines, {}, "no virtual lines for one line")
      local marks = vim.api.nvim_buf_get_extmarks(buf, ghost_ns, 0, -1, {})
      t.eq({ marks[1][2], marks[1][3] }, { 1, #"    ret" }, "at the cursor")
      t.eq(line(2), "    ret", "the buffer holds only what was typed")
    end,
  },
  {
    "<Tab> inserts it as an undo step of its own",
    function()
      t.type("<Tab>")
      t.eq(line(2), "    ret" .. t.env("SWITCHBOARD_EXPECT_RET"), "accepted")
      t.eq(vim.api.nvim_win_get_cursor(0), { 2, #line(2) }, "the cursor after it")
      t.eq(ghost(), nil, "the ghost text is gone")
      t.type("  # sum<Esc>u")
      t.eq(line(2), "    ret" .. t.env("SWITCHBOARD_EXPECT_RET"), "u: the typing after it")
      t.type("u")
      t.eq(line(2), "    ret", "one more u: the suggestion, not the typing before it")
    end,
  },
  {
    "accept a word, another, then the line",
    function()
      append_at(6)
      t.type("p")
      wait_for_ghost("ute(total, rate)")
      t.type("<M-Right>")
      t.eq(line(6), "    x = compute", "one word")
      t.eq(assert(ghost()).inline, "(total, rate)", "the rest still shows")
      t.type("<M-Right>")
      t.eq(line(6), "    x = compute(", "the next word: the punctuation")
      t.eq(assert(ghost()).inline, "total, rate)", "the rest")
      t.type("<M-C-Right>")
      t.eq(line(6), "    x = compute(total, rate)", "the line")
      t.eq(ghost(), nil, "all accepted")
    end,
  },
  {
    "typing what the suggestion starts with keeps the rest; <C-]> dismisses it",
    function()
      append_at(7)
      t.type("u")
      wait_for_ghost("m(values)")
      t.type("m(")
      t.eq(assert(ghost()).inline, "values)", "typed through")
      t.type("<C-]>")
      t.eq(ghost(), nil, "dismissed")
      t.eq(line(7), "    total = sum(", "dismissing changes no text")
      t.type("<C-]>")
      t.eq(line(7), "    total = sum([own]", "with nothing on show, <C-]> is the user's mapping")
    end,
  },
  {
    "a cursor move clears it, and so does leaving Insert mode",
    function()
      append_at(12)
      t.type("u")
      wait_for_ghost("m(values)")
      t.type("<Left>")
      t.eq(ghost(), nil, "cleared by <Left>")
      t.type("<End><BS>u")
      wait_for_ghost("m(values)")
      t.type("<Esc>")
      t.eq(ghost(), nil, "cleared by <Esc>")
      t.eq(line(12), "    total = su", "no text from the suggestion")
    end,
  },
  {
    "several suggestions: <M-]> and <M-[> cycle, with a count",
    function()
      append_at(8)
      local col = #line(8)
      require("switchboard.ghost").show_at_cursor({
        { text = "0", end_col = col },
        { text = "00", end_col = col },
      })
      t.eq(assert(ghost()).inline, "0 (1/2)", "the first")
      t.type("<M-]>")
      t.eq(assert(ghost()).inline, "00 (2/2)", "the next")
      t.type("<M-]>")
      t.eq(assert(ghost()).inline, "0 (1/2)", "round again")
      t.type("<M-[>")
      t.eq(assert(ghost()).inline, "00 (2/2)", "the previous")
      t.type("<Tab>")
      t.eq(line(8), "    y = 100", "the one on show is accepted")
    end,
  },
  {
    "<Tab> with no suggestion indents: spaces with 'expandtab', a tab without",
    function()
      t.type("<Esc>")
      vim.cmd("Switchboard ghost")
      t.eq(require("switchboard.inline").is_enabled(), false, "toggled off")
      t.wait_for_message(notifications, "ghost text off")
      append_at(8)
      t.type("<Tab>")
      t.eq(line(8), "    y = 100 ", "to the next 'softtabstop' column, with spaces")
      vim.bo[buf].expandtab, vim.bo[buf].softtabstop = false, 0
      t.type("<Tab>")
      t.eq(line(8), "    y = 100 \t", "a tab")
      vim.cmd("Switchboard ghost on")
      t.eq(require("switchboard.inline").is_enabled(), true, "on again")
      t.type("<Tab>")
      t.eq(line(8), "    y = 100 \t\t", "on, but nothing on show yet: still a tab")
      t.type("<Esc>")
      vim.bo[buf].expandtab, vim.bo[buf].softtabstop = true, 4
    end,
  },
  {
    "with ghost text off, <M-\\> still asks, and <Esc> clears what it shows",
    function()
      vim.cmd("Switchboard ghost off")
      append_at(12)
      t.type("<M-Bslash>")
      wait_for_ghost("m(values)")
      t.type("<Esc>")
      t.eq(ghost(), nil, "cleared")
      vim.cmd("Switchboard ghost on")
    end,
  },
  {
    "a suggestion of several lines: virtual lines, accepted with its own indentation",
    function()
      append_at(4)
      t.type("a")
      wait_for_ghost(":")
      t.eq(assert(ghost()).lines, { "        return a", "    return b" }, "virtual lines")
      t.type("<Tab>")
      t.eq(
        vim.api.nvim_buf_get_lines(buf, 3, 7, true),
        { "    if a:", "        return a", "    return b", "def rate(total):" },
        "inserted verbatim"
      )
      t.type("<Esc>u")
      t.eq(
        vim.api.nvim_buf_get_lines(buf, 3, 5, true),
        { "    if a", "def rate(total):" },
        "undone"
      )
    end,
  },
  {
    "typing again cancels the request in flight, and the server closes its upstream",
    function()
      local seen = {}
      vim.api.nvim_create_autocmd("LspRequest", {
        callback = function(args)
          local request = args.data.request
          if request.method == "textDocument/inlineCompletion" then
            table.insert(seen, { id = args.data.request_id, type = request.type })
          end
        end,
      })
      append_at(11)
      t.type("s")
      local first
      t.wait_for("the request for the slow answer", function()
        first = seen[#seen]
        return first ~= nil and first.type == "pending"
      end)
      t.wait_for("the server to ask the fake", function()
        return vim.uv.fs_stat(vim.fs.joinpath(t.work_dir, "upstream-open")) ~= nil
      end)
      t.type("x")
      t.wait_for("its cancel", function()
        return vim.iter(seen):any(function(event)
          return event.id == first.id and event.type == "cancel"
        end)
      end)
      local closed = vim.fs.joinpath(t.work_dir, "upstream-closed")
      t.wait_for("the fake to see its connection closed", function()
        return vim.uv.fs_stat(closed) ~= nil
      end)
      t.eq(ghost(), nil, "nothing shows")
      t.type("<Esc>")
    end,
  },
  {
    "engine = 'builtin' needs Neovim 0.12: on 0.11 it says so and draws its own",
    function()
      t.load_plugin({ ghost = { engine = "builtin" } })
      t.eq(require("switchboard.inline").engine_name(), "plugin", "the plugin's engine")
      t.wait_for_message(notifications, "needs Neovim 0.12+")
      t.eq(require("switchboard.inline").is_enabled(), true, "still on")
    end,
  },
  {
    ":Switchboard complete inserts the completion model's code without its fences",
    function()
      t.load_plugin({ complete_model = t.env("SWITCHBOARD_COMPLETE_MODEL"), ghost = false })
      t.eq(require("switchboard.inline").is_enabled(), false, "ghost = false turns it off")
      t.eq(vim.fn.maparg("<C-]>", "i"), "[own]", "and gives the keys back")
      vim.api.nvim_win_set_cursor(0, { 10, 3 })
      vim.cmd("Switchboard complete")
      t.wait_for("the completion", function()
        return not require("switchboard.complete").is_running(buf)
      end)
      t.eq(line(10), "    " .. t.env("SWITCHBOARD_EXPECT_COMPLETE"), "inserted without fences")
      vim.cmd("silent normal! u")
      t.eq(line(10), "    ", "one undo")
      t.eq(t.find_message(notifications, "rror"), nil, "no error notifications")
    end,
  },
})
