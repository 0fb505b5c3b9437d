-- tern's door for Dovecot's logins: its passdb and userdb (driver lua,
-- blocking=yes, so it runs in Dovecot's auth-worker processes).  Every
-- IMAP and POP3 login is decided by tern's lookup process over
-- auth.sock, with the policy SMTP AUTH gets; the protocol is
-- src/mailbox/login_proto.h's: one request line and one answer line per
-- connection, TAB-separated, backslash escapes.
--
-- `tern serve` writes this file beside Dovecot's configuration at every
-- start, after a first line that sets TERN_AUTH_SOCK.  Unlike the
-- checkpassword program it replaces, nothing is forked per login.
--
-- Trusts lookup no further than its answer's rules: a line that breaks
-- one is a temporary failure, like no answer at all.

local socket = require("socket")
local unix = require("socket.unix")

local TIMEOUT = 60              -- seconds for each step: connect, send, receive
local LOGIN_MAX = 255           -- LOGIN_PROTO_LOGIN_MAX
local PASSWORD_MAX = 256        -- LOGIN_PROTO_PASSWORD_MAX
local SERVICE_MAX = 15          -- LOGIN_PROTO_SERVICE_MAX
local CLIENT_MAX = 63           -- LOGIN_PROTO_CLIENT_MAX
local PATH_MAX = 4095           -- LOGIN_PROTO_PATH_MAX
local DELAY_MAX = 120           -- LOGIN_PROTO_DELAY_MAX
local ANSWER_MAX = 3 + 4 + 2 * LOGIN_MAX + 1 + 2 * PATH_MAX + 1

local ESCAPE = { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }
local UNESCAPE = { ["\\"] = "\\", t = "\t", n = "\n", r = "\r" }

local function escape(s)
  return (s:gsub("[\\\t\n\r]", ESCAPE))
end

-- An escaped field of the answer, or nil if it breaks a rule (an unknown
-- escape, a raw CR or NUL, longer than max once unescaped).
local function unescape(field, max)
  if field:find("[%z\r]") then
    return nil
  end
  local bad = false
  local out = field:gsub("\\(.?)", function(c)
    local u = UNESCAPE[c]
    if u == nil then
      bad = true
      return ""
    end
    return u
  end)
  if bad or #out > max then
    return nil
  end
  return out
end

local function split(line)
  local fields = {}
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = f
  end
  return fields
end

local function delay_of(field)
  if not field:match("^%d%d?%d?$") then
    return nil
  end
  local d = tonumber(field)
  return d <= DELAY_MAX and d or nil
end

-- lookup's answer as a table {result, delay, login, maildir}, or nil and
-- why.
local function parse(line)
  local f = split(line)
  if f[1] == "ok" and #f == 4 then
    local a = { result = "ok", delay = delay_of(f[2]),
                login = unescape(f[3], LOGIN_MAX),
                maildir = unescape(f[4], PATH_MAX) }
    if a.delay and a.login and a.login ~= "" and a.maildir and
        a.maildir:sub(1, 1) == "/" then
      return a
    end
  elseif f[1] == "fail" and #f == 2 then
    local d = delay_of(f[2])
    if d then
      return { result = "fail", delay = d }
    end
  elseif (f[1] == "unknown" or f[1] == "tempfail") and #f == 1 then
    return { result = f[1], delay = 0 }
  end
  return nil, "a malformed answer from tern's lookup"
end

-- One request, one answer: the parsed answer, or nil and why.
local function ask_once(request)
  local c = unix.stream()
  if c == nil then
    return nil, "no socket"
  end
  -- "t": each of connect, send and receive is bounded as a whole, not
  -- per read, so a trickling answer cannot stretch it.
  c:settimeout(TIMEOUT, "t")
  local ok, err = c:connect(TERN_AUTH_SOCK)
  if ok then
    ok, err = c:send(request)
  end
  local data, partial
  if ok then
    -- lookup closes after its answer: read to the close, bounded.
    data, err, partial = c:receive(ANSWER_MAX + 1)
    data = data or partial
  end
  c:close()
  if not ok or data == nil or (err ~= nil and err ~= "closed") then
    return nil, "no answer from tern's lookup (is tern running?): " ..
        tostring(err)
  end
  if #data > ANSWER_MAX or data:sub(-1) ~= "\n" or
      data:find("\n", 1, true) ~= #data then
    return nil, "a malformed answer from tern's lookup"
  end
  return parse(data:sub(1, -2))
end

-- The parsed answer, or nil and why, logged in Dovecot's log.
local function ask(req, request)
  local a, why = ask_once(request)
  if a == nil then
    why = "tern: " .. why
    req:log_error(why)
  end
  return a, why
end

-- The client's address as lookup takes it, or "".
local function client_of(req)
  local ip = req.remote_ip or ""
  if #ip > CLIENT_MAX or not ip:match("^[%w.:%%_-]*$") then
    return ""
  end
  return ip
end

local function wait(delay)
  if delay > 0 then
    socket.sleep(delay)
  end
end

-- A login: imap or pop3 only; the user field becomes the account's own
-- login, in its exact case, so that a login let in by login_case = warn
-- lives under the real one.
function auth_password_verify(req, password)
  local auth = dovecot.auth
  local login = req.user or ""
  if req.service ~= "imap" and req.service ~= "pop3" then
    req:log_error("tern: refused: the service is not imap or pop3")
    return auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  if login == "" or #login > LOGIN_MAX or #password > PASSWORD_MAX then
    return auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  local a, why = ask(req, "auth\t" .. req.service .. "\t" .. client_of(req) ..
      "\t" .. escape(login) .. "\t" .. escape(password) .. "\n")
  if a == nil then
    return auth.PASSDB_RESULT_INTERNAL_FAILURE, why
  end
  wait(a.delay)
  if a.result == "ok" then
    return auth.PASSDB_RESULT_OK, { user = a.login, userdb_home = a.maildir,
                                    userdb_mail = "maildir:~" }
  elseif a.result == "tempfail" then
    return auth.PASSDB_RESULT_INTERNAL_FAILURE, "tern: try again later"
  end
  return auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
end

-- Only the plain mechanisms are offered, so a lookup without a password
-- has nothing to check.
function auth_passdb_lookup(req)
  return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, ""
end

-- A userdb lookup (doveadm, a login's prefetch aside): does the login
-- exist, and where is its Maildir.  No password, no policy.
function auth_userdb_lookup(req)
  local auth = dovecot.auth
  local login = req.user or ""
  local service = req.service or ""
  if #service > SERVICE_MAX or not service:match("^[a-z0-9-]+$") then
    service = "userdb"
  end
  if login == "" or #login > LOGIN_MAX then
    return auth.USERDB_RESULT_USER_UNKNOWN, ""
  end
  local a, why = ask(req, "user\t" .. service .. "\t" .. client_of(req) ..
      "\t" .. escape(login) .. "\n")
  if a == nil then
    return auth.USERDB_RESULT_INTERNAL_FAILURE, why
  end
  if a.result == "ok" then
    return auth.USERDB_RESULT_OK, { user = a.login, home = a.maildir,
                                    mail = "maildir:~" }
  elseif a.result == "unknown" then
    return auth.USERDB_RESULT_USER_UNKNOWN, ""
  end
  return auth.USERDB_RESULT_INTERNAL_FAILURE, "tern: try again later"
end
