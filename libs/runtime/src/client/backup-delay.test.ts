import { BackupDelay, selectNth } from './backup-delay';

describe('BackupDelay', () => {
  it('is unknown until minSamples answers, then the quantile of the recent ones, within its bounds', () => {
    const delay = new BackupDelay({ quantile: 0.9, minSamples: 10, minDelayMs: 2, maxDelayMs: 500 });
    for (let ms = 1; ms <= 9; ms += 1) delay.record(ms * 10);
    expect(delay.currentMs).toBeUndefined();
    delay.record(100);
    // 10 answers of 10..100 ms: the 90% quantile is the tenth.
    expect(delay.currentMs).toBe(100);

    const fast = new BackupDelay({ minSamples: 10, minDelayMs: 5 });
    for (let i = 0; i < 10; i += 1) fast.record(0.3);
    expect(fast.currentMs).toBe(5);
    const slow = new BackupDelay({ minSamples: 10, maxDelayMs: 400 });
    for (let i = 0; i < 10; i += 1) slow.record(2000);
    expect(slow.currentMs).toBe(400);
  });

  it('follows the latest answers: older ones leave the window', () => {
    const delay = new BackupDelay({ quantile: 0.5, window: 32, minSamples: 16, minDelayMs: 1 });
    for (let i = 0; i < 32; i += 1) delay.record(200);
    expect(delay.currentMs).toBe(200);
    for (let i = 0; i < 32; i += 1) delay.record(20);
    expect(delay.currentMs).toBe(20);
  });
});

describe('selectNth', () => {
  it('finds the value a sort would put at each index, duplicates and all', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const size of [1, 2, 3, 10, 64, 256]) {
      for (let round = 0; round < 20; round++) {
        // Few distinct values in some rounds: ties are where a selection goes wrong.
        const values = Float64Array.from({ length: size }, () => (round % 2 ? Math.floor(random() * 4) : random() * 1000));
        const sorted = Float64Array.from(values).sort();
        for (const n of new Set([0, size >> 1, Math.floor(0.99 * size), size - 1])) expect(selectNth(Float64Array.from(values), n)).toBe(sorted[n]);
      }
    }
  });
});
