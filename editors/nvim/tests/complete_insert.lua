--- The insert-mode complete mapping (<leader>ai, from `keymaps = true`), typed as keys: the
--- server's completion (its fast model: settings.fastModel) arrives while Insert mode goes on,
--- lands between the characters at the cursor, and one `u` takes it all back.
--- SWITCHBOARD_EXPECT_COMPLETE comes from the Python side.
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
local BEFORE = { "The quick fox jumps.", "The end." }
local buf

local function lines()
  return vim.api.nvim_buf_get_lines(buf, 0, -1, true)
end

t.run({
  {
    "setup() with keymaps maps complete in Insert mode",
    function()
      t.load_plugin({ settings = { fastModel = "openai/gpt-4o-mini" }, keymaps = true })
      t.eq(vim.fn.maparg("<leader>ai", "i"), "<Cmd>Switchboard complete<CR>", "insert mapping")
      buf = t.edit_attached("fox.txt", BEFORE)
    end,
  },
  {
    "i<leader>ai puts the completion in at the cursor while Insert mode goes on",
    function()
      vim.api.nvim_win_set_cursor(0, { 1, #"The quick " }) -- on the "f" of "fox"
      local complete = require("switchboard.complete")
      local mode_when_done
      -- The user's pause in Insert mode, as a key: it returns once the completion is done.
      _G.switchboard_test_pause = function()
        t.wait_for("the completion", function()
          return not complete.is_running(buf) and not vim.deep_equal(lines(), BEFORE)
        end)
        mode_when_done = vim.api.nvim_get_mode().mode
      end
      local pause = "<Cmd>lua switchboard_test_pause()<CR>"
      vim.api.nvim_feedkeys(vim.keycode("i<leader>ai" .. pause .. "<Esc>"), "mx", false)
      t.eq(vim.api.nvim_get_mode().mode, "n", "back in Normal mode")
      t.eq(mode_when_done, "i", "the completion finished while still in Insert mode")
      local expected = "The quick " .. t.env("SWITCHBOARD_EXPECT_COMPLETE") .. "fox jumps."
      t.eq(
        lines(),
        vim.list_extend(vim.split(expected, "\n", { plain = true }), { "The end." }),
        "the completion between the characters at the cursor"
      )
      t.eq(vim.fn.maparg("<C-c>", "i"), "", "the cancel mapping is gone")
      t.eq(vim.fn.maparg("<C-c>", "n"), "", "the cancel mapping is gone")
    end,
  },
  {
    "one u undoes the whole completion, and <C-r> brings it back",
    function()
      local completed = lines()
      vim.api.nvim_feedkeys("u", "x", false)
      t.eq(lines(), BEFORE, "one undo")
      vim.api.nvim_feedkeys(vim.keycode("<C-r>"), "x", false)
      t.eq(lines(), completed, "one redo")
      t.eq(t.find_message(notifications, "rror"), nil, "no error notifications")
    end,
  },
})
