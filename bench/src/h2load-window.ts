import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { GeneratorToHarness, LoadPlan, WindowResult } from './bench-messages';
import { latencyHistogram } from './load-loop';

/** h2load from nghttp2 (Debian's nghttp2-client): an HTTP/2 load generator written in C. */
export const H2LOAD = process.env.SWITCHYARD_H2LOAD ?? 'h2load';

/** Whether h2load runs here: the scenarios that need it are left out, and say so, when it does not. */
export function h2loadAvailable(): boolean {
  return spawnSync(H2LOAD, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A unary request as it goes on the wire: the gRPC frame (uncompressed flag, length) around the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

// utime + stime of a process, in microseconds (the kernel counts clock ticks of 10 ms).
function cpuUsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * The measured window with h2load as the client: one HTTP/2 connection with `concurrency` streams
 * at a time (as a grpc-js channel sends them), the same request body on every call, warm-up
 * first. h2load costs a fraction of a Node client per call, so the server is what limits the
 * rate. It reads HTTP statuses, not gRPC ones: the scenario checks with a real client that the
 * request succeeds before handing it over. Latencies come from h2load's per-request log, which
 * holds the measured requests only.
 */
export async function runH2loadWindow(plan: LoadPlan, tell: (message: GeneratorToHarness) => void): Promise<void> {
  const { client, mode } = plan;
  if (client.kind !== 'h2load') throw new Error('runH2loadWindow: not an h2load client');
  if (mode.kind !== 'closed') throw new Error('h2load rows run a closed loop only: --rate does not apply to them');
  const dir = mkdtempSync(join(tmpdir(), 'bench-h2load-'));
  try {
    const body = join(dir, 'request.bin');
    const log = join(dir, 'requests.log');
    writeFileSync(body, Buffer.from(client.requestBase64, 'base64'));
    const args = [
      ...['-c', '1', '-m', String(mode.concurrency), '-t', '1'],
      ...['-D', `${plan.durationMs}ms`, ...(plan.warmupMs > 0 ? [`--warm-up-time=${plan.warmupMs}ms`] : [])],
      ...['-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `--log-file=${log}`],
      `http://${client.target}${client.path}`,
    ];
    const h2load = spawn(H2LOAD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    h2load.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    h2load.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      h2load.once('error', reject);
      h2load.once('exit', (code) => resolve(code));
    });
    tell({ type: 'ready' });
    // Its CPU time is read while it runs: once it has exited, /proc no longer has it.
    let cpuAtStart: number | undefined;
    let cpuLatest: number | undefined;
    const sampler = setInterval(() => (cpuLatest = cpuUsOf(h2load.pid!) ?? cpuLatest), 100);
    const windowStart = setTimeout(() => {
      cpuAtStart = cpuUsOf(h2load.pid!);
      tell({ type: 'window-start' });
    }, plan.warmupMs);
    const code = await exited.finally(() => {
      clearInterval(sampler);
      clearTimeout(windowStart);
    });
    if (code !== 0) throw new Error(`h2load exited with ${code}:\n${output}`);
    tell({ type: 'window-end', result: windowResult(readFileSync(log, 'utf8'), output, plan.durationMs, (cpuLatest ?? 0) - (cpuAtStart ?? 0)) });
    tell({ type: 'stopped' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// h2load's summary: "requests: 100 total, 100 started, 100 done, 98 succeeded, 2 failed, 0 errored, 0 timeout"
// and "status codes: 98 2xx, 0 3xx, 0 4xx, 0 5xx".
function failedRequests(summary: string): number {
  const requests = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(summary);
  const statuses = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(summary);
  if (!requests || !statuses) throw new Error(`h2load printed no request counts:\n${summary}`);
  return [...requests.slice(1), ...statuses.slice(1)].reduce((sum, count) => sum + Number(count), 0);
}

/**
 * The window from h2load's log: one line per request, `<start us>\t<status>\t<duration us>`; the
 * status is -1 for a stream that failed (nghttp2 1.52 writes 0 for a response that ends in
 * trailers, as every gRPC response does, so only the summary tells HTTP statuses apart).
 */
function windowResult(log: string, summary: string, durationMs: number, clientCpuUs: number): WindowResult {
  const histogram = latencyHistogram();
  let calls = 0;
  let failedStreams = 0;
  for (const line of log.split('\n')) {
    if (!line) continue;
    const [, status, durationUs] = line.split('\t');
    histogram.recordValue(Math.max(1, Number(durationUs)));
    calls += 1;
    if (status === '-1') failedStreams += 1;
  }
  const errors = Math.max(failedStreams, failedRequests(summary));
  return {
    calls,
    errors,
    errorsByStatus: errors > 0 ? { HTTP_OR_STREAM_FAILURE: errors } : {},
    elapsedMs: durationMs,
    histogram: encodeIntoCompressedBase64(histogram),
    p50Us: histogram.getValueAtPercentile(50),
    p90Us: histogram.getValueAtPercentile(90),
    p99Us: histogram.getValueAtPercentile(99),
    p999Us: histogram.getValueAtPercentile(99.9),
    maxUs: histogram.maxValue,
    clientCpuUs,
  };
}
