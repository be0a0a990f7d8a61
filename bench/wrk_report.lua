-- wrk script used by bench/http_bench.py.
-- Sends the bearer token from BENCH_TOKEN (kept out of the command line) and,
-- when the run ends, prints one line "WRK_SUMMARY {json}" with exact figures
-- (times in microseconds) for http_bench.py to parse.

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- BENCH_BODY: unset for GET; "entry" POSTs one new journal entry per request;
-- "batch:N" POSTs a batch of N new entries. Every entry gets a fresh UUID, as
-- the phone would give it.
local body_kind = os.getenv("BENCH_BODY") or ""
local batch_size = tonumber(body_kind:match("^batch:(%d+)$") or "0")
local counter = 0

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919 + math.floor(os.clock() * 1e6))
end

local function uuid()
  counter = counter + 1
  return string.format("%08x-%04x-4%03x-%04x-%012x",
    math.random(0, 0x7fffffff), counter % 0x10000, math.random(0, 0xfff),
    0x8000 + math.random(0, 0x3fff), math.random(0, 0x7fffffff) * 4096 + (counter % 4096))
end

local fields = '"occurred_at":"2026-11-20T21:30:00-05:00","intensity":6,"intensity_after":3,' ..
  '"substance":"alcohol","outcome":"resisted","halt":["tired"],' ..
  '"situation":"Synthetic benchmark entry about a hard evening."'

local function entry_json()
  return '{"id":"' .. uuid() .. '",' .. fields .. '}'
end

local function batch_json(n)
  local items = {}
  for i = 1, n do
    items[i] = '{"op":"upsert","id":"' .. uuid() .. '","data":{' .. fields .. '}}'
  end
  return '{"items":[' .. table.concat(items, ",") .. ']}'
end

if body_kind ~= "" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  request = function()
    local body = batch_size > 0 and batch_json(batch_size) or entry_json()
    return wrk.format(nil, nil, nil, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99)))
end
