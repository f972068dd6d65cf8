-- GET context on one seeded conversation. Env: LOAD_DIR, API_KEY, CONTEXT_PATH (path and query).
dofile(os.getenv("LOAD_DIR") .. "/report.lua")

local path = os.getenv("CONTEXT_PATH")
local headers = { ["Authorization"] = "Bearer " .. os.getenv("API_KEY") }

function request()
  return wrk.format("GET", path, headers)
end
