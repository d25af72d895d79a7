import { reconnectDelayMs } from './reconnect-backoff';

describe('reconnectDelayMs', () => {
  const options = { initialMs: 100, maxMs: 5000 };

  it('doubles from the initial delay up to the ceiling', () => {
    const top = { ...options, random: () => 1 };
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => reconnectDelayMs(attempt, top))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('jitters within [half, full] of the step, never down to zero', () => {
    expect(reconnectDelayMs(3, { ...options, random: () => 0 })).toBe(200);
    expect(reconnectDelayMs(3, { ...options, random: () => 0.5 })).toBe(300);
    for (let i = 0; i < 100; i += 1) {
      const delay = reconnectDelayMs(1, options);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(100);
    }
  });
});
