import { StreamResetPacing } from './stream-reset-pacing';

describe('StreamResetPacing', () => {
  it('allows a burst at once, then the rate over time, never more than the burst', () => {
    let now = 0;
    const pacing = new StreamResetPacing({ perSecond: 10, burst: 5 }, () => now);
    const taken = (count: number) => Array.from({ length: count }, () => pacing.tryReset()).filter(Boolean).length;
    expect(taken(8)).toBe(5);
    now += 300;
    expect(taken(8)).toBe(3);
    now += 60_000;
    expect(taken(8)).toBe(5);
  });

  it('refuses settings that would never allow a reset or have no meaning', () => {
    expect(() => new StreamResetPacing({ perSecond: 10, burst: 0 })).toThrow(/burst must be >= 1/);
    expect(() => new StreamResetPacing({ perSecond: Number.NaN, burst: 5 })).toThrow(/perSecond must be >= 0/);
  });
});
