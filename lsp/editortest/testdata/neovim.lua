-- Drives Neovim's built-in LSP client against `aioscope lsp`: opens a file, starts the server
-- attached to a live process, waits for the code lenses Neovim displays, asks for a hover on
-- each line that has one, and writes what it saw to a JSON file. Written for Neovim 0.7 (Debian
-- 12) and later. Input comes from the environment:
--   AIOSCOPE_BIN   the aioscope binary       AIOSCOPE_FILE  the source file to open
--   AIOSCOPE_PID   the process to attach to  AIOSCOPE_OUT   where to write the results
--   AIOSCOPE_WANT  how many lenses to wait for
--   AIOSCOPE_STUCK stuckThreshold to start the server with (optional)
--   AIOSCOPE_DIAGNOSTICS  message prefixes, separated by "|", of diagnostics to wait for (optional)
local env = vim.env
local out = {errors = {}}

local function finish()
  local f = assert(io.open(env.AIOSCOPE_OUT, 'w'))
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd('qall!')
end

local ok, err = xpcall(function()
  vim.cmd('edit ' .. vim.fn.fnameescape(env.AIOSCOPE_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  local config = {
    name = 'aioscope',
    cmd = {env.AIOSCOPE_BIN, 'lsp'},
    root_dir = vim.fn.fnamemodify(env.AIOSCOPE_FILE, ':h'),
    init_options = {processId = tonumber(env.AIOSCOPE_PID), refreshInterval = 300,
      stuckThreshold = env.AIOSCOPE_STUCK and tonumber(env.AIOSCOPE_STUCK) or nil},
    handlers = {
      ['window/showMessage'] = function(_, result)
        table.insert(out.errors, 'showMessage: ' .. result.message)
      end,
    },
  }
  local client_id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(bufnr, client_id)
  if not vim.wait(15000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized
  end, 20) then
    error('the client did not initialize')
  end
  out.server_name = vim.lsp.get_client_by_id(client_id).name

  -- What Neovim draws: the virtual text of its code lens namespace for this client.
  local function drawn()
    local lines = {}
    for name, ns in pairs(vim.api.nvim_get_namespaces()) do
      if name:find('codelens', 1, true) then
        for _, m in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, {details = true})) do
          local text = {}
          for _, chunk in ipairs(m[4].virt_text or {}) do
            table.insert(text, chunk[1])
          end
          table.insert(lines, {line = m[2], text = table.concat(text)})
        end
      end
    end
    return lines
  end
  local want = tonumber(env.AIOSCOPE_WANT)
  if not vim.wait(20000, function()
    vim.lsp.codelens.refresh()
    return #vim.lsp.codelens.get(bufnr) >= want and #drawn() >= want
  end, 100) then
    error('fewer than ' .. want .. ' code lenses came: ' .. vim.inspect(vim.lsp.codelens.get(bufnr)))
  end
  -- The diagnostics Neovim holds for the buffer, once every prefix wanted is among them.
  local wanted = vim.split(env.AIOSCOPE_DIAGNOSTICS or '', '|', true)
  local function all_there()
    for _, prefix in ipairs(wanted) do
      local found = prefix == ''
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        found = found or d.message:sub(1, #prefix) == prefix
      end
      if not found then
        return false
      end
    end
    return true
  end
  if not vim.wait(20000, all_there, 100) then
    error('the diagnostics wanted did not come: ' .. vim.inspect(vim.diagnostic.get(bufnr)))
  end
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out.diagnostics, {line = d.lnum, severity = d.severity, message = d.message})
  end

  -- The lenses as of now, after the diagnostics: their waits have grown.
  vim.lsp.codelens.refresh()
  vim.wait(1000, function() return false end, 50)
  out.lenses = {}
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
    table.insert(out.lenses, {line = lens.range.start.line, title = lens.command and lens.command.title or ''})
  end
  out.drawn = drawn()

  out.hovers = {}
  for _, lens in ipairs(out.lenses) do
    local params = {
      textDocument = {uri = vim.uri_from_bufnr(bufnr)},
      position = {line = lens.line, character = 0},
    }
    local res = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params, 10000)
    local r = res and res[client_id] and res[client_id].result
    table.insert(out.hovers, {line = lens.line, value = r and r.contents and r.contents.value or ''})
  end
  local res = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover',
    {textDocument = {uri = vim.uri_from_bufnr(bufnr)}, position = {line = 0, character = 0}}, 10000)
  out.empty_hover = res and res[client_id] and res[client_id].result or vim.NIL

  vim.lsp.stop_client(client_id)
  vim.wait(5000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
  out.stopped = vim.lsp.get_client_by_id(client_id) == nil
end, debug.traceback)
if not ok then
  table.insert(out.errors, tostring(err))
end
finish()
