import { status as Status } from '@grpc/grpc-js';
import { ConfigError } from '../config/env-config';
import { parseRetryPolicy } from './retry-policy-config';
import { DEFAULT_METHOD_RETRY_POLICY, resolveMethodPolicy } from './retry-policy';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';

function errorOf(value: unknown): string {
  try {
    parseRetryPolicy(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseRetryPolicy (RETRY_POLICY)', () => {
  it('treats unset and empty as no policy', () => {
    expect(parseRetryPolicy(undefined)).toBeUndefined();
    expect(parseRetryPolicy('  ')).toBeUndefined();
  });

  it('reads default, service and method entries, hedging and throttling, codes by name or number', () => {
    const config = parseRetryPolicy(
      JSON.stringify({
        default: { maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 500, backoffMultiplier: 1.5, retryableStatusCodes: ['UNAVAILABLE', 8] },
        services: { 'switchyard.user.v1.UserService': { maxAttempts: 2 } },
        methods: { [GET_USER]: { hedging: { maxAttempts: 3, hedgingDelayMs: 20, nonFatalStatusCodes: ['UNAVAILABLE'] } } },
        retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
      }),
    )!;
    expect(config.retryThrottling).toEqual({ maxTokens: 10, tokenRatio: 0.1 });
    const getUser = resolveMethodPolicy(DEFAULT_METHOD_RETRY_POLICY, config, GET_USER);
    expect(getUser.retry).toEqual({ maxAttempts: 2, initialBackoffMs: 50, maxBackoffMs: 500, backoffMultiplier: 1.5, retryableCodes: new Set([Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED]) });
    expect(getUser.hedging).toEqual({ maxAttempts: 3, hedgingDelayMs: 20, nonFatalCodes: new Set([Status.UNAVAILABLE]) });
    const getOrder = resolveMethodPolicy(DEFAULT_METHOD_RETRY_POLICY, config, '/switchyard.order.v1.OrderService/GetOrder');
    expect(getOrder.retry.maxAttempts).toBe(4);
    expect(getOrder.hedging).toBeUndefined();
  });

  it('keeps retryThrottling: false, which turns off the default throttling', () => {
    expect(parseRetryPolicy(JSON.stringify({ retryThrottling: false }))!.retryThrottling).toBe(false);
  });

  it('reads backupAttempts: its delay and budget fields, or false to turn them off', () => {
    expect(parseRetryPolicy(JSON.stringify({ backupAttempts: { quantile: 0.95, maxDelayMs: 300, reserve: 10 } }))!.backupAttempts).toEqual({
      delay: { quantile: 0.95, maxDelayMs: 300 },
      budget: { reserve: 10 },
    });
    expect(parseRetryPolicy(JSON.stringify({ backupAttempts: false }))!.backupAttempts).toBe(false);
  });

  it('caps maxAttempts at 5 and lets "hedging": false undo a less specific hedging', () => {
    const config = parseRetryPolicy(
      JSON.stringify({
        default: { maxAttempts: 7, hedging: { maxAttempts: 9 } },
        methods: { [GET_USER]: { hedging: false } },
      }),
    )!;
    const listUsers = resolveMethodPolicy(DEFAULT_METHOD_RETRY_POLICY, config, '/switchyard.user.v1.UserService/ListUsers');
    expect(listUsers.retry.maxAttempts).toBe(5);
    expect(listUsers.hedging).toEqual({ maxAttempts: 5, hedgingDelayMs: 0, nonFatalCodes: new Set() });
    expect(resolveMethodPolicy(DEFAULT_METHOD_RETRY_POLICY, config, GET_USER).hedging).toBeUndefined();
  });

  it.each([
    ['{"default": ', 'RETRY_POLICY: not valid JSON'],
    [[], 'RETRY_POLICY: (the whole value)'],
    [{ default: { maxAttempts: 0 } }, 'RETRY_POLICY: default.maxAttempts = 0: expected at least 1'],
    [{ default: { maxAttempts: 2.5 } }, 'RETRY_POLICY: default.maxAttempts = 2.5: expected a whole number'],
    [{ default: { initialBackoffMs: '100ms' } }, 'RETRY_POLICY: default.initialBackoffMs = "100ms": expected milliseconds'],
    [{ default: { maxBackoffMs: 0 } }, 'RETRY_POLICY: default.maxBackoffMs = 0: expected milliseconds > 0'],
    [{ default: { maxAttempt: 3 } }, 'RETRY_POLICY: default: Unrecognized key: "maxAttempt"'],
    [{ services: { 'switchyard.user.v1.UserService': { retryableStatusCodes: ['UNAVAILABLE', 'UNAVAIL'] } } }, 'RETRY_POLICY: services["switchyard.user.v1.UserService"].retryableStatusCodes[1] = "UNAVAIL": expected a gRPC status other than OK'],
    [{ methods: { [GET_USER]: { retryableStatusCodes: ['OK'] } } }, `RETRY_POLICY: methods["${GET_USER}"].retryableStatusCodes[0] = "OK"`],
    [{ methods: { [GET_USER]: { retryableStatusCodes: [] } } }, 'retryableStatusCodes = []: expected at least one status code'],
    [{ methods: { 'UserService.GetUser': {} } }, 'RETRY_POLICY: methods["UserService.GetUser"]: expected a method path, e.g. /switchyard.user.v1.UserService/GetUser'],
    [{ methods: { [GET_USER]: { hedging: { hedgingDelayMs: 5 } } } }, `RETRY_POLICY: methods["${GET_USER}"].hedging`],
    [{ retryThrottling: { maxTokens: 2000, tokenRatio: 0.1 } }, 'RETRY_POLICY: retryThrottling.maxTokens = 2000: expected maxTokens in (0, 1000]'],
    [{ retryThrottling: { maxTokens: 10 } }, 'RETRY_POLICY: retryThrottling.tokenRatio = (unset)'],
    [{ retryThrottling: true }, 'RETRY_POLICY: retryThrottling = true: expected false or { maxTokens, tokenRatio }'],
    [{ backupAttempts: { quantile: 99 } }, 'RETRY_POLICY: backupAttempts.quantile = 99: expected a quantile in (0, 1)'],
    [{ backupAttempts: { delayMs: 5 } }, 'RETRY_POLICY: backupAttempts: Unrecognized key: "delayMs"'],
  ])('rejects %j naming RETRY_POLICY and the field', (value, expected) => {
    expect(errorOf(value)).toContain(expected);
  });

  it('lists every bad field at once', () => {
    const message = errorOf({ default: { maxAttempts: 0, backoffMultiplier: -1 } });
    expect(message).toContain('default.maxAttempts');
    expect(message).toContain('default.backoffMultiplier');
  });
});
