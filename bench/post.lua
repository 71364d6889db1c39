-- wrk script: every request is a new form post with an email no other request used.
-- Usage: wrk -s bench/post.lua URL -- PREFIX   (PREFIX keeps emails unique across runs)
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = args[1] or "w"
  counter = 0
end

function request()
  counter = counter + 1
  local body = "email=" .. prefix .. "-" .. tid .. "-" .. counter .. "%40example.com&first_name=Load&country=Test"
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
