import { RetryThrottle } from './retry-throttle';

describe('RetryThrottle (gRFC A6 token bucket)', () => {
  it('starts full, allows retries only above half, and never goes below 0 or above maxTokens', () => {
    const throttle = new RetryThrottle({ maxTokens: 4, tokenRatio: 0.1 });
    expect(throttle.tokens).toBe(4);
    throttle.recordSuccess();
    expect(throttle.tokens).toBe(4);
    throttle.recordFailure();
    expect(throttle.allowsRetry()).toBe(true); // 3 > 2
    throttle.recordFailure();
    expect(throttle.allowsRetry()).toBe(false); // 2 is not > 2
    for (let i = 0; i < 5; i += 1) throttle.recordFailure();
    expect(throttle.tokens).toBe(0);
    // Ten successes of 0.1 are exactly one token: kept in thousandths, no float drift.
    for (let i = 0; i < 30; i += 1) throttle.recordSuccess();
    expect(throttle.tokens).toBe(3);
    expect(throttle.allowsRetry()).toBe(true);
  });

  it('rejects settings gRFC A6 does not allow', () => {
    expect(() => new RetryThrottle({ maxTokens: 0, tokenRatio: 0.1 })).toThrow(RangeError);
    expect(() => new RetryThrottle({ maxTokens: 1001, tokenRatio: 0.1 })).toThrow(RangeError);
    expect(() => new RetryThrottle({ maxTokens: 10, tokenRatio: 0 })).toThrow(RangeError);
  });
});
