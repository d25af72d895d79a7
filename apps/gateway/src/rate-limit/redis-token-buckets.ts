import Redis from 'ioredis';
import { decision, type TokenBuckets } from './token-bucket';

export interface RedisBucketsOptions {
  /** redis://[:password@]host:port[/db] (REDIS_URL). */
  url: string;
  /** Prefix of every key, so several deployments (or test runs) can share one Redis. */
  keyPrefix: string;
  /** A take that Redis has not answered within this many ms rejects (RATE_LIMIT_REDIS_TIMEOUT_MS). */
  timeoutMs: number;
  /**
   * Most checks sent and not yet answered; past it a take fails at once. A Redis that accepts
   * commands and never answers would otherwise keep every one of them in memory. Default 1000.
   */
  maxPending?: number;
  /** Connection errors, at most as often as ioredis reconnects; the caller decides how loud. */
  onConnectionError?: (error: Error) => void;
}

// One atomic step per take, on Redis's own clock so that every gateway agrees on time.
// Fractional tokens are returned as a string: Redis turns Lua numbers into integers.
const TAKE_TOKEN = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return { allowed, tostring(tokens) }
`;

type TakeToken = (key: string, rate: number, burst: number) => Promise<[number, string]>;

/**
 * Token buckets in Redis, shared by every gateway that uses the same Redis and key prefix. A take
 * fails at once while Redis is unreachable (no offline queue) and after `timeoutMs` when it is
 * slow, so a sick Redis never holds calls up; the middleware decides what a failure means.
 */
export function redisTokenBuckets(options: RedisBucketsOptions): TokenBuckets {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    enableOfflineQueue: false,
    // Ready on connect: a slow Redis is handled by the timeout of each take, not by start-up
    // commands (ready check, CLIENT SETINFO) that would hang the same way with no timeout.
    enableReadyCheck: false,
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    // On close, a Redis that does not end the connection is cut off soon, not after 2 s.
    disconnectTimeout: 200,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  redis.on('error', (error: Error) => options.onConnectionError?.(error));
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  const takeToken = (redis as unknown as { takeToken: TakeToken }).takeToken.bind(redis);
  const maxPending = options.maxPending ?? 1000;
  let pending = 0;
  return {
    take: (key, rate, burst) =>
      new Promise((resolve, reject) => {
        if (pending >= maxPending) return reject(new Error(`Redis has ${pending} checks unanswered`));
        pending += 1;
        const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${options.timeoutMs}ms`)), options.timeoutMs);
        takeToken(key, rate, burst)
          .finally(() => (pending -= 1))
          .then(
            ([allowed, tokens]) => {
              clearTimeout(timer);
              resolve(decision(allowed === 1, Number(tokens), rate, burst));
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
      }),
    close: async () => {
      redis.disconnect();
    },
  };
}
