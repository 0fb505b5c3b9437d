-- Runs tern's Dovecot login script (src/mailbox/dovecot_auth.lua, as
-- `tern serve` writes it) the way Dovecot 2.3's auth-worker calls it
-- (src/auth/db-lua.c): a request object with the login's fields and
-- log_error, the password as the second argument, Dovecot's result codes
-- in dovecot.auth.  Prints the result's name, then each field returned
-- as key=value, sorted (or message=TEXT when a string came back).
--
-- lua5.4 lua_passdb.lua SCRIPT verify|user LOGIN SERVICE CLIENT
-- (SERVICE and CLIENT "-" for none; the password on stdin)
local script, verb, login, service, client = ...

local PASSDB = { INTERNAL_FAILURE = -1, SCHEME_NOT_AVAILABLE = -2,
                 USER_UNKNOWN = -3, USER_DISABLED = -4, PASS_EXPIRED = -5,
                 NEXT = -6, PASSWORD_MISMATCH = 0, OK = 1 }
local USERDB = { INTERNAL_FAILURE = -1, USER_UNKNOWN = 0, OK = 1 }

dovecot = { auth = {} }
for k, v in pairs(PASSDB) do dovecot.auth["PASSDB_RESULT_" .. k] = v end
for k, v in pairs(USERDB) do dovecot.auth["USERDB_RESULT_" .. k] = v end

local function none(s) if s == "-" then return nil end return s end

local req = { user = login, service = none(service), remote_ip = none(client) }
function req:log_error(msg) io.stderr:write(msg, "\n") end

dofile(script)

local result, fields, names
if verb == "verify" then
  result, fields = auth_password_verify(req, io.read("a"))
  names = PASSDB
else
  result, fields = auth_userdb_lookup(req)
  names = USERDB
end
for k, v in pairs(names) do
  if v == result then print(k) end
end
if type(fields) == "table" then
  local keys = {}
  for k in pairs(fields) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do print(k .. "=" .. fields[k]) end
elseif fields ~= nil and fields ~= "" then
  print("message=" .. fields)
end
