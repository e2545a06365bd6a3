//! The Lua scripts. Each decision is one script run: atomic on the server, timed by the
//! server's `TIME` (instances' clocks never enter the arithmetic), touching exactly one key
//! that the caller passes in `KEYS` (so Cluster routes it), and leaving a TTL on it so that
//! idle keys expire.

use std::sync::LazyLock;

use redis::Script;

/// Token bucket. `KEYS[1]`: the bucket hash (`t` tokens, `ts` last update in µs of server time).
/// `ARGV`: capacity, refill per second, cost, partial (1: grant what is there, up to cost).
/// A negative cost gives tokens back (capped at capacity). Returns
/// `{granted, tokens_left_as_string}`; granted 0 means refused.
pub(crate) const TOKEN_BUCKET_LUA: &str = r#"
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = capacity
  updated = now_us
end
local elapsed = math.max(0, now_us - updated) / 1000000
tokens = math.min(capacity, tokens + elapsed * rate)
local granted = 0
if cost < 0 then
  tokens = math.min(capacity, tokens - cost)
elseif tokens >= cost then
  tokens = tokens - cost
  granted = cost
elseif partial and tokens >= 1 then
  granted = math.floor(tokens)
  tokens = tokens - granted
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.0f', now_us))
local until_full_ms = math.ceil((capacity - tokens) / rate * 1000)
redis.call('PEXPIRE', KEYS[1], until_full_ms + 1000)
return {granted, string.format('%.17g', tokens)}
"#;

/// Calendar windows in Lua, the same arithmetic as `portcullis_ratelimit::quota`.
pub(crate) const WINDOW_LUA: &str = r#"
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function civil_from_days(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end
local function window_bounds(kind, t)
  if kind == 'minute' then local s = t - t % 60 return s, s + 60 end
  if kind == 'hour' then local s = t - t % 3600 return s, s + 3600 end
  if kind == 'day' then local s = t - t % 86400 return s, s + 86400 end
  local y, m = civil_from_days(math.floor(t / 86400))
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * 86400, days_from_civil(ny, nm, 1) * 86400
end
"#;

/// Quota counter. `KEYS[1]`: the counter hash (`w` window start, `c` count). `ARGV`: limit,
/// window kind (`minute`, `hour`, `day`, `month`), delta (1 to count, -1 to give back).
/// Returns `{admitted, count, window_start, window_end, now}`.
pub(crate) const QUOTA_BODY_LUA: &str = r#"
local now = tonumber(redis.call('TIME')[1])
local limit = tonumber(ARGV[1])
local delta = tonumber(ARGV[3])
local start, finish = window_bounds(ARGV[2], now)
local state = redis.call('HMGET', KEYS[1], 'w', 'c')
local count = tonumber(state[2]) or 0
if tonumber(state[1]) ~= start then count = 0 end
local admitted = 0
if delta < 0 then
  count = math.max(0, count + delta)
elseif count < limit then
  count = count + delta
  admitted = 1
end
redis.call('HSET', KEYS[1], 'w', string.format('%.0f', start), 'c', string.format('%.0f', count))
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', finish * 1000 + 1000))
return {admitted, count, start, finish, now}
"#;

pub(crate) static TOKEN_BUCKET: LazyLock<Script> = LazyLock::new(|| Script::new(TOKEN_BUCKET_LUA));

pub(crate) static QUOTA: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{WINDOW_LUA}{QUOTA_BODY_LUA}")));

/// Evaluates the Lua window arithmetic for a given time (tests compare it with the Rust one).
pub(crate) static WINDOW_PROBE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{WINDOW_LUA}local s, f = window_bounds(ARGV[1], tonumber(ARGV[2])) return {{s, f}}"
    ))
});
