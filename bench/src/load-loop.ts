import { status as Status } from '@grpc/grpc-js';
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { LoadMode, WindowResult } from './bench-messages';
import { HeapAllocationMeter } from './heap-allocation-meter';

/** One call of the workload; resolves when answered, rejects with the call's error. */
export type SendCall = (sequence: number) => Promise<unknown>;

export interface LoadWindow {
  durationMs: number;
  /** Called about once a second while the window runs. */
  onProgress?: (progress: { elapsedMs: number; calls: number; errors: number }) => void;
}

/** Latencies from 1 us to 60 s at 3 significant digits. */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

class WindowRecorder {
  readonly histogram = latencyHistogram();
  calls = 0;
  errors = 0;
  readonly errorsByStatus: Record<string, number> = {};

  record(latencyMs: number, error: unknown): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    this.calls += 1;
    if (error !== undefined) {
      this.errors += 1;
      const code = (error as { code?: unknown }).code;
      const name = typeof code === 'number' ? (Status[code] ?? String(code)) : 'NOT_A_GRPC_ERROR';
      this.errorsByStatus[name] = (this.errorsByStatus[name] ?? 0) + 1;
    }
  }
}

const NO_ERROR = undefined;

/**
 * Closed loop: `concurrency` callers, each sending its next call when the last one is answered,
 * until `durationMs` have passed. Latency is from send to answer.
 */
async function closedLoop(send: SendCall, concurrency: number, durationMs: number, recorder: WindowRecorder): Promise<number> {
  const started = performance.now();
  const endAt = started + durationMs;
  let sequence = 0;
  const caller = async () => {
    while (performance.now() < endAt) {
      const sent = performance.now();
      let failure: unknown = NO_ERROR;
      try {
        await send(sequence++);
      } catch (error) {
        failure = error ?? new Error('rejected without a reason');
      }
      const answered = performance.now();
      // A call answered after the window closed is not part of it.
      if (answered <= endAt) recorder.record(answered - sent, failure);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return 0;
}

/**
 * Open loop: call i is due at start + i / rate, whatever happened to earlier calls. Latency counts
 * from the time a call was due, not from when it was sent, so a stall shows in every call it
 * delayed. At most `maxInFlight` calls are outstanding; a due call waits for a free slot (and
 * its wait is in its latency). Returns how many due calls were never sent before the window closed.
 */
async function openLoop(send: SendCall, ratePerSecond: number, maxInFlight: number, durationMs: number, recorder: WindowRecorder): Promise<number> {
  const started = performance.now();
  const endAt = started + durationMs;
  const intervalMs = 1000 / ratePerSecond;
  let sequence = 0;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const sendDue = (dueAt: number) => {
    inFlight += 1;
    const seq = sequence++;
    const done = (failure: unknown) => {
      const answered = performance.now();
      if (answered <= endAt) recorder.record(answered - dueAt, failure);
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    };
    send(seq).then(
      () => done(NO_ERROR),
      (error: unknown) => done(error ?? new Error('rejected without a reason')),
    );
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= endAt) return resolve();
      // Send every call due by now (several per tick at high rates: timers fire about every 1 ms).
      while (started + sequence * intervalMs <= now && inFlight < maxInFlight) sendDue(started + sequence * intervalMs);
      setTimeout(tick, Math.max(0, Math.min(1, started + sequence * intervalMs - now)));
    };
    tick();
  });
  const due = Math.floor(durationMs / intervalMs);
  const behind = Math.max(0, due - sequence);
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  return behind;
}

/** Runs `send` under `mode` for the window and summarizes what was answered within it. */
export async function runLoadWindow(send: SendCall, mode: LoadMode, window: LoadWindow): Promise<WindowResult> {
  const recorder = new WindowRecorder();
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const allocation = HeapAllocationMeter.ofProcess();
  const allocatedAtStart = allocation.allocatedBytes();
  const progress = window.onProgress
    ? setInterval(() => window.onProgress?.({ elapsedMs: performance.now() - started, calls: recorder.calls, errors: recorder.errors }), 1000)
    : undefined;
  try {
    const behind =
      mode.kind === 'closed'
        ? await closedLoop(send, mode.concurrency, window.durationMs, recorder)
        : await openLoop(send, mode.ratePerSecond, mode.maxInFlight, window.durationMs, recorder);
    const cpu = process.cpuUsage(cpuAtStart);
    const h = recorder.histogram;
    return {
      calls: recorder.calls,
      errors: recorder.errors,
      errorsByStatus: recorder.errorsByStatus,
      elapsedMs: Math.min(performance.now() - started, window.durationMs),
      histogram: encodeIntoCompressedBase64(h),
      p50Us: h.getValueAtPercentile(50),
      p90Us: h.getValueAtPercentile(90),
      p99Us: h.getValueAtPercentile(99),
      p999Us: h.getValueAtPercentile(99.9),
      maxUs: h.maxValue,
      clientCpuUs: cpu.user + cpu.system,
      clientHeapAllocatedBytes: allocation.allocatedBytes() - allocatedAtStart,
      ...(mode.kind === 'open' ? { behind } : {}),
    };
  } finally {
    if (progress) clearInterval(progress);
  }
}
