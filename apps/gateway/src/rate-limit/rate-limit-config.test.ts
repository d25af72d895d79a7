import { ConfigError } from '@switchyard/runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { edgeRateLimits } from './edge-rate-limits';
import { loadRateLimitConfig } from './rate-limit-config';

const CREATE_USER = '/switchyard.user.v1.UserService/CreateUser';

describe('rate limit configuration', () => {
  it('has no limits, memory buckets and fail-open by default', () => {
    expect(loadRateLimitConfig({})).toEqual({ rules: undefined, rulesFile: undefined, redisUrl: undefined, redisKeyPrefix: 'switchyard:ratelimit:', redisTimeoutMs: 50, onRedisFailure: 'open' });
  });

  it('reads RATE_LIMITS, with "by" defaulting to subject', () => {
    const config = loadRateLimitConfig({ RATE_LIMITS: JSON.stringify({ default: { rate: 10, burst: 20 }, methods: { [CREATE_USER]: { rate: 1, burst: 5, by: 'address' } } }) });
    expect(config.rules).toEqual({ default: { rate: 10, burst: 20, by: 'subject' }, methods: { [CREATE_USER]: { rate: 1, burst: 5, by: 'address' } } });
  });

  it('takes method paths with or without the leading slash, as AUTH_PUBLIC_METHODS does', () => {
    const config = loadRateLimitConfig({ RATE_LIMITS: JSON.stringify({ methods: { 'switchyard.user.v1.UserService/CreateUser': { rate: 1, burst: 5 } } }) });
    expect(config.rules?.methods).toEqual({ [CREATE_USER]: { rate: 1, burst: 5, by: 'subject' } });
  });

  it('refuses at start a rule for a method the gateway does not serve', () => {
    const config = loadRateLimitConfig({ RATE_LIMITS: JSON.stringify({ methods: { '/switchyard.user.v1.UserService/CreateUsr': { rate: 1, burst: 5 } } }) });
    const start = () => edgeRateLimits(config, pino({ level: 'silent' }), [CREATE_USER]);
    expect(start).toThrow(ConfigError);
    expect(start).toThrow('RATE_LIMITS: methods["/switchyard.user.v1.UserService/CreateUsr"]: the gateway serves no such method');
  });

  it.each([
    ['{"default":{"rate":0,"burst":5}}', 'RATE_LIMITS: default.rate: expected calls per second > 0'],
    ['{"default":{"rate":1,"burst":2.5}}', 'RATE_LIMITS: default.burst: expected a whole number of calls'],
    ['{"default":{"rate":1,"burst":5,"by":"ip"}}', 'RATE_LIMITS: default.by: expected "subject" or "address"'],
    [`{"methods":{"${CREATE_USER}":{"rate":"fast","burst":5}}}`, `RATE_LIMITS: methods["${CREATE_USER}"].rate: expected a number of calls per second`],
    ['{"methods":{"CreateUser":{"rate":1,"burst":5}}}', 'RATE_LIMITS: methods.CreateUser: expected a full method path, e.g. /switchyard.user.v1.UserService/CreateUser'],
    ['{"defaults":{"rate":1,"burst":5}}', 'RATE_LIMITS: (top level): Unrecognized key: "defaults"'],
    ['{"default":', 'RATE_LIMITS: not valid JSON'],
  ])('rejects RATE_LIMITS=%s naming the field', (value, message) => {
    expect(() => loadRateLimitConfig({ RATE_LIMITS: value })).toThrow(ConfigError);
    expect(() => loadRateLimitConfig({ RATE_LIMITS: value })).toThrow(message);
  });

  it('rejects RATE_LIMITS and RATE_LIMITS_FILE together, a missing or bad file, and bad Redis settings', () => {
    expect(() => loadRateLimitConfig({ RATE_LIMITS: '{}', RATE_LIMITS_FILE: '/x.json' })).toThrow('RATE_LIMITS and RATE_LIMITS_FILE are both set');
    expect(() => loadRateLimitConfig({ RATE_LIMITS_FILE: '/nonexistent/limits.json' })).toThrow('RATE_LIMITS_FILE: cannot read /nonexistent/limits.json (ENOENT)');
    const dir = mkdtempSync(join(tmpdir(), 'rate-limits-'));
    try {
      writeFileSync(join(dir, 'limits.json'), '{"default":{"rate":-1,"burst":1}}');
      expect(() => loadRateLimitConfig({ RATE_LIMITS_FILE: join(dir, 'limits.json') })).toThrow('RATE_LIMITS_FILE: default.rate: expected calls per second > 0');
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(() => loadRateLimitConfig({ RATE_LIMIT_REDIS_FAILURE: 'maybe' })).toThrow('RATE_LIMIT_REDIS_FAILURE="maybe": expected "open"');
    // The URL may carry a password: named, never shown.
    expect(() => loadRateLimitConfig({ REDIS_URL: 'http://:hunter2@cache:6379' })).toThrow('REDIS_URL=(hidden): expected a redis:// or rediss:// URL');
  });
});
