-- Single-turn POSTs, each with a unique turn id. Every wrk thread spreads its requests round-robin
-- over its own CONVERSATIONS conversations (created by their first turn), the way many chat sessions
-- write at once, so concurrent requests rarely contend on one stream.
-- Env: LOAD_DIR (this folder), RUN_ID (unique per run), API_KEY, TURNS_FILE (JSON string literals,
-- one per line, realistic turn texts), CONVERSATIONS (per thread, default 64), PATH_PREFIX (before /conversations,
-- default none: the baseline's /single and /grouped).
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local run = os.getenv("RUN_ID")
local conversations = tonumber(os.getenv("CONVERSATIONS") or "64")
local auth = "Bearer " .. os.getenv("API_KEY")
local prefix = os.getenv("PATH_PREFIX") or ""

local texts = {}
for line in io.lines(os.getenv("TURNS_FILE")) do texts[#texts + 1] = line end

local threads_created = 0
function setup(thread)
  threads_created = threads_created + 1
  thread:set("tid", threads_created)
end

local n = 0
function request()
  n = n + 1
  local conversation = string.format("%s-t%d-c%d", run, tid, n % conversations)
  local role = (n % 2 == 0) and "assistant" or "user"
  local body = string.format('{"id":"%s-t%d-n%d","role":"%s","content":%s}',
    run, tid, n, role, texts[(n % #texts) + 1])
  return wrk.format("POST", prefix .. "/conversations/" .. conversation .. "/turns",
    { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, body)
end
