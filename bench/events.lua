-- wrk script: replays bench/data/payloads.tsv as beacons from many clients.
--
-- Every request carries a recorded event body (or BENCH_BATCH of them as {"events": [...]}), its user
-- agent, Origin, Sec-GPC/DNT, and an X-Forwarded-For address drawn from a pool of distinct clients
-- (the collector trusts 127.0.0.1 as its proxy). Bodies are split once per thread in init() around their
-- `event_id`, `vid` and `sid` values; each request fills those in fresh, so a replayed event is a new
-- event (never a duplicate the collector acknowledges without storing), and every five consecutive
-- events of a thread share one consented visitor and session (they still form visits).
--
-- Environment: BENCH_DATA (payload file), BENCH_BATCH (events per request, default 1), BENCH_SITE (site
-- id written into the bodies), BENCH_DELAY_MS (mean pause per connection between requests: an
-- exponential, i.e. Poisson, arrival process; 0 = closed loop, as fast as the server answers),
-- BENCH_REPLAY_IDS (see below).

local data = os.getenv("BENCH_DATA")
local batch = tonumber(os.getenv("BENCH_BATCH") or "1")
local site = os.getenv("BENCH_SITE") or "bench.example"
local mean_delay = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local clients = tonumber(os.getenv("BENCH_CLIENTS") or "20000")
-- BENCH_REPLAY_IDS=1: send the recorded ids as they are (how this bench replayed before; most repeats are
-- then duplicates the collector acknowledges without storing). Only for the before/after comparison.
local replay = os.getenv("BENCH_REPLAY_IDS") == "1"

local records = {}
for line in io.lines(data) do
  local ua, origin, gpc, dnt, ip, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  if body then
    body = body:gsub('"site":"bench%.example"', '"site":"' .. site .. '"')
    records[#records + 1] = {ua = ua, origin = origin, gpc = gpc, dnt = dnt, ip = ip, body = body}
  end
end

local thread_no = 0
function setup(thread)
  thread_no = thread_no + 1
  thread:set("seed", thread_no * 7919)
end

local pool = {}
local i = 0
local tag = 0      -- per thread and run: ids never repeat across threads or runs
local sent = 0     -- events sent by this thread

-- The body as {literal, "E"|"V"|"S", literal, ...}: the recorded ids become slots.
local function split(body)
  body = body:gsub('"event_id":"[^"]*"', '"event_id":"\1E\1"')
  body = body:gsub('"vid":"[^"]*"', '"vid":"\1V\1"')
  body = body:gsub('"sid":"[^"]*"', '"sid":"\1S\1"')
  local parts = {}
  for piece in (body .. "\1"):gmatch("([^\1]*)\1") do parts[#parts + 1] = piece end
  return parts
end

local function fill(parts)
  local out = {}
  for j = 1, #parts do
    local p = parts[j]
    if j % 2 == 1 then
      out[j] = p
    elseif p == "E" then
      sent = sent + 1
      out[j] = string.format("%08x-0000-4000-8000-%012x", tag, sent)
    elseif p == "V" then
      out[j] = string.format("benchvisitor%08x%010d", tag, math.floor(sent / 5))
    else
      out[j] = string.format("session%08x%010d", tag, math.floor(sent / 5))
    end
  end
  return table.concat(out)
end

local function address(n)
  -- A stable address per simulated client: recorded addresses, varied in the last two octets.
  local r = records[(n % #records) + 1]
  local a, b = r.ip:match("^(%d+)%.(%d+)%.")
  return string.format("%s.%s.%d.%d", a, b, (n * 37) % 256, 1 + (n * 13) % 254)
end

function init(args)
  math.randomseed((seed or 1) + os.time())
  tag = math.random(0, 0x7fffffff)
  local size = batch > 1 and 200 or 5000
  for k = 1, size do
    local first = records[math.random(#records)]
    local body = first.body
    if batch > 1 then
      local parts = {}
      for j = 1, batch do parts[j] = records[math.random(#records)].body end
      body = '{"events":[' .. table.concat(parts, ",") .. ']}'
    end
    local headers = {
      ["Content-Type"] = (k % 3 == 0) and "application/json" or "text/plain;charset=UTF-8",
      ["User-Agent"] = first.ua,
      ["Origin"] = first.origin,
      ["X-Forwarded-For"] = address(math.random(clients)),
    }
    if first.gpc == "1" then headers["Sec-GPC"] = "1" end
    if first.dnt == "1" then headers["DNT"] = "1" end
    pool[k] = {headers = headers, parts = replay and {body} or split(body)}
  end
end

function request()
  i = i + 1
  if i > #pool then i = 1 end
  local p = pool[i]
  return wrk.format("POST", "/api/event", p.headers, fill(p.parts))
end

if mean_delay > 0 then
  function delay()
    return math.floor(-math.log(1 - math.random()) * mean_delay)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
