import { isoTimestamp } from './iso-timestamp';

describe('isoTimestamp', () => {
  it('writes what pino.stdTimeFunctions.isoTime writes (new Date().toISOString()), across seconds and at every millisecond width', () => {
    let now = Date.UTC(2026, 0, 2, 3, 4, 5, 0);
    const timestamp = isoTimestamp(() => now);
    for (const step of [0, 7, 93, 900, 1, 1000, 86_400_000 - 1, 12]) {
      now += step;
      expect(timestamp()).toBe(`,"time":"${new Date(now).toISOString()}"`);
    }
    expect(isoTimestamp()()).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
  });
});
