import { memoryTokenBuckets } from './memory-token-buckets';

describe('token buckets in memory', () => {
  it('admits the burst at once, then refills at the rate, never above the burst', async () => {
    let now = 0;
    const buckets = memoryTokenBuckets({ now: () => now });
    for (let i = 0; i < 3; i += 1) expect(await buckets.take('k', 2, 3)).toMatchObject({ allowed: true, remaining: 2 - i });
    expect(await buckets.take('k', 2, 3)).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 1, resetSeconds: 2 });
    now = 500; // one token back at 2 a second
    expect(await buckets.take('k', 2, 3)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await buckets.take('k', 2, 3)).allowed).toBe(false);
    now = 60_000;
    expect(await buckets.take('k', 2, 3)).toMatchObject({ allowed: true, remaining: 2 });
    // Another key is another bucket.
    expect(await buckets.take('other', 2, 3)).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('stays bounded when callers make up keys: full buckets are dropped first, then the oldest', async () => {
    let now = 0;
    // A flood of keys whose buckets are full again by the next take: a refilling bucket outlives it.
    const buckets = memoryTokenBuckets({ now: () => now, maxBuckets: 100 });
    await buckets.take('busy', 0.001, 1);
    for (let i = 0; i < 1000; i += 1) {
      now += 10;
      await buckets.take(`made-up-${i}`, 1000, 1);
    }
    expect((await buckets.take('busy', 0.001, 1)).allowed).toBe(false);

    // A flood of keys that all stay empty: the oldest go, so the map cannot grow past the bound
    // (the price: the oldest client gets a full bucket again).
    const slow = memoryTokenBuckets({ now: () => now, maxBuckets: 100 });
    await slow.take('busy', 0.001, 1);
    for (let i = 0; i < 1000; i += 1) {
      now += 10;
      await slow.take(`made-up-${i}`, 0.001, 1);
    }
    expect((await slow.take('busy', 0.001, 1)).allowed).toBe(true);
  });
});
