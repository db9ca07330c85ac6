--- Every picker goes through vim.ui.select (telescope, fzf-lua or snacks take it over when one
--- is installed), and each says what the server reports: ✓ for a model whose provider has
--- credentials, "not configured" where the server found none (Bedrock and Vertex here).
local t =
  dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)), "helpers.lua"))

local notifications = t.capture_notifications()
---@type {kind: string, prompt: string, lines: string[], items: table[]}[]
local pickers = {}
local pick = nil ---@type fun(items: table[]): table?

vim.ui.select = function(items, opts, on_choice)
  local lines = vim.tbl_map(function(item)
    return opts.format_item and opts.format_item(item) or tostring(item)
  end, items)
  table.insert(pickers, { kind = opts.kind, prompt = opts.prompt, lines = lines, items = items })
  on_choice(pick and pick(items) or nil)
end

local function wait_for_picker(count)
  t.wait_for("picker " .. count, function()
    return #pickers >= count
  end)
  return pickers[count]
end

---@param lines string[]
---@param prefix string
---@return string
local function line_for(lines, prefix)
  for _, line in ipairs(lines) do
    if vim.startswith(line, prefix) then
      return line
    end
  end
  error(("no line starting with %q in:\n%s"):format(prefix, table.concat(lines, "\n")))
end

t.run({
  {
    ":Switchboard model lists the models through vim.ui.select, honestly marked",
    function()
      t.load_plugin({ ghost = false })
      pick = function(items)
        for _, item in ipairs(items) do
          if item.id == "openai/gpt-4.1" then
            return item
          end
        end
      end
      vim.cmd("Switchboard model")
      local picker = wait_for_picker(1)
      t.eq(picker.kind, "switchboard.model", "kind")
      t.contains(line_for(picker.lines, "✓ openai/gpt-4o "), "ctx", "openai has the key")
      for _, provider in ipairs({ "bedrock", "vertex" }) do
        local line = line_for(picker.lines, "✗ " .. provider .. "/")
        t.contains(line, "not configured", provider)
      end
      local first_missing = nil
      for index, line in ipairs(picker.lines) do
        if vim.startswith(line, "✓") then
          assert(first_missing == nil, "a usable model after one that is not: " .. line)
        elseif first_missing == nil then
          first_missing = index
        end
      end
      t.eq(require("switchboard.config").chat_model(), "openai/gpt-4.1", "the chosen model")
    end,
  },
  {
    "the provider picker (:Switchboard key with no provider) says not configured too",
    function()
      pick = nil
      vim.cmd("Switchboard key")
      local picker = wait_for_picker(2)
      t.eq(picker.kind, "switchboard.provider", "kind")
      t.contains(line_for(picker.lines, "openai "), "signed in (env:OPENAI_API_KEY)", "openai")
      t.contains(line_for(picker.lines, "anthropic "), "not configured", "anthropic")
      t.eq(t.find_message(notifications, "rror"), nil, "no errors")
    end,
  },
})
