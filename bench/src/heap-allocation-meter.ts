import { getHeapStatistics, GCProfiler } from 'node:v8';

/**
 * Counts the bytes this process has allocated on the V8 heap: what the heap holds now, plus
 * everything each garbage collection freed since the meter started. Unlike CPU time, the bytes a
 * call allocates hardly move with the machine's load, so a change of a few percent shows in one
 * run; and they are what the young-generation collections that follow cost.
 */
export class HeapAllocationMeter {
  private static processMeter: HeapAllocationMeter | undefined;

  /** The one meter of this process, started on first use, for code that measures window after window. */
  static ofProcess(): HeapAllocationMeter {
    return (HeapAllocationMeter.processMeter ??= new HeapAllocationMeter());
  }

  private readonly profiler = new GCProfiler();
  private readonly usedAtStart: number;
  private freedBytes = 0;

  constructor() {
    this.usedAtStart = getHeapStatistics().used_heap_size;
    this.profiler.start();
  }

  /** Bytes allocated since the meter started (buffers' memory outside the V8 heap not included). */
  allocatedBytes(): number {
    // The profiler hands over the collections since start() only when stopped; start it again at once.
    const { statistics } = this.profiler.stop();
    this.profiler.start();
    for (const gc of statistics) this.freedBytes += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    return getHeapStatistics().used_heap_size - this.usedAtStart + this.freedBytes;
  }
}
