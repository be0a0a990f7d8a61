-- wrk script used by bench/http_bench.py.
-- Sends the bearer token from BENCH_TOKEN (kept out of the command line) and,
-- when the run ends, prints one line "WRK_SUMMARY {json}" with exact figures
-- (times in microseconds) for http_bench.py to parse.

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
-- BENCH_COOKIE: a console session (the console's pages answer sessions, not tokens).
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

-- BENCH_BODY: unset for GET; "entry" POSTs one new journal entry per request;
-- "batch:N" POSTs a batch of N new entries. Every entry gets a fresh UUID, as
-- the phone would give it. "answer" POSTs one complete BAM answer (every item
-- asked, 7A-7G included) to a window no other request answers: wrk run number
-- BENCH_RUN answers the schedule at that place in BENCH_MEASURE_SCHEDULES (a list
-- of day-long-window schedules from 1970-01-02, bench/seed_measures.py), thread t of
-- BENCH_WRK_THREADS the days t, t + threads, t + 2 x threads, ... of it.
local body_kind = os.getenv("BENCH_BODY") or ""
local batch_size = tonumber(body_kind:match("^batch:(%d+)$") or "0")
local counter = 0

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
  -- A global of the thread's own state (the local above shadows "thread_number" there).
  thread:set("bench_thread", thread_number)
end

function init(args)
  math.randomseed(os.time() * 1000 + (bench_thread or 0) * 7919 + math.floor(os.clock() * 1e6))
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

local schedules = {}
for id in (os.getenv("BENCH_MEASURE_SCHEDULES") or ""):gmatch("[^,]+") do
  schedules[#schedules + 1] = id
end
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
local answered = 0
local bam = '{"1":2,"2":3,"3":2,"4":1,"5":1,"6":1,"7A":0,"7B":1,"7C":0,"7D":0,"7E":0,' ..
  '"7F":0,"7G":0,"8":2,"9":3,"10":2,"11":1,"12":2,"13":3,"14":4,"15":1,"16":3,"17":2}'

local function answer_json()
  local day = 1 + answered * threads + (bench_thread or 1) - 1  -- days since 1970-01-01
  answered = answered + 1
  return '{"id":"' .. uuid() .. '","schedule":"' .. schedules[run % #schedules + 1] ..
    '","answered_at":"' .. os.date("!%Y-%m-%d", day * 86400) .. 'T18:00:00Z","answers":' ..
    bam .. '}'
end

if body_kind == "answer" and #schedules == 0 then
  error("BENCH_BODY=answer needs BENCH_MEASURE_SCHEDULES")
end

if body_kind ~= "" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  request = function()
    local body
    if body_kind == "answer" then
      body = answer_json()
    elseif batch_size > 0 then
      body = batch_json(batch_size)
    else
      body = entry_json()
    end
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
