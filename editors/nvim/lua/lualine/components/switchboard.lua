--- lualine component: `sections = { lualine_x = { "switchboard" } }`.
--- lualine treats a component module that returns a function as a function
--- component, so options such as `cond`, `icon` and `color` work as usual.
return function()
  return require("switchboard").statusline()
end
