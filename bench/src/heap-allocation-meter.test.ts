import { HeapAllocationMeter } from './heap-allocation-meter';

/** Allocates `count` arrays of 1,000 small integers (about 8 KB each) and keeps the last few, so collections run meanwhile. */
function allocateArrays(count: number): number {
  let kept: number[][] = [];
  let sum = 0;
  for (let i = 0; i < count; i++) {
    kept.push(new Array<number>(1000).fill(i));
    if (kept.length > 16) kept = [];
    sum += kept.length;
  }
  return sum;
}

describe('HeapAllocationMeter', () => {
  it('counts what was allocated, including what collections freed in between', () => {
    const meter = new HeapAllocationMeter();
    const before = meter.allocatedBytes();
    // 20,000 arrays of 8 KB: about 160 MB, many times the young generation, so most of it is
    // counted through what the collections freed, not through the heap's size at the end.
    allocateArrays(20_000);
    const allocated = meter.allocatedBytes() - before;
    expect(allocated).toBeGreaterThan(20_000 * 8000 * 0.95);
    expect(allocated).toBeLessThan(20_000 * 8000 * 1.25);
  });

  it('tells a window with twice the allocation from one with half', () => {
    const meter = new HeapAllocationMeter();
    const start = meter.allocatedBytes();
    allocateArrays(5_000);
    const middle = meter.allocatedBytes();
    allocateArrays(10_000);
    const end = meter.allocatedBytes();
    const ratio = (end - middle) / (middle - start);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });
});
