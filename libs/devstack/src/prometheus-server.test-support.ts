// Test support (not a test): a real Prometheus (Debian's prometheus package: /usr/bin/prometheus
// and /usr/bin/promtool) as a child process on a free loopback port, with its config and TSDB in
// a temporary directory, and the bits of its HTTP API the tests read.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '@switchyard/testing';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** The binaries of PROMETHEUS and PROMTOOL that cannot be run (empty when both can). */
export function missingPrometheusTools(): string[] {
  return [PROMETHEUS, PROMTOOL].filter((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0);
}

/** `promtool check config <file>`: its exit code and everything it printed. */
export function promtoolCheckConfig(file: string): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL, ['check', 'config', file], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export interface ScrapeTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  /** When the last scrape started (RFC 3339). */
  lastScrape: string;
  lastError: string;
}

/** One series of an instant query. */
export interface QuerySeries {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryAnswer = { status: 'success'; resultType: string; result: QuerySeries[] } | { status: 'error'; errorType: string; error: string };

export interface PrometheusServer {
  readonly url: string;
  targets(): Promise<ScrapeTarget[]>;
  /** GET /api/v1/query?query=...&time=...: the answer as Prometheus gives it, errors included. */
  query(expression: string, time: Date): Promise<QueryAnswer>;
  /** What Prometheus logged, for failure messages. */
  output(): string;
  /** SIGKILLs Prometheus, waits for it to exit and removes its directory. */
  stop(): Promise<void>;
}

/** Starts Prometheus on `configYaml` and waits until it answers /-/ready. */
export async function startPrometheus(configYaml: string, timeoutMs = 20_000): Promise<PrometheusServer> {
  const directory = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'));
  const configFile = join(directory, 'prometheus.yml');
  writeFileSync(configFile, configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async () => {
    if (running) child.kill('SIGKILL');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  };
  const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;

  try {
    await eventually(async () => {
      if (!running) throw new Error(`prometheus exited:\n${output}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, timeoutMs, `prometheus ready on ${url}`);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }

  return {
    url,
    output: () => output,
    stop,
    targets: async () => (await getJson<{ data: { activeTargets: ScrapeTarget[] } }>('/api/v1/targets?state=active')).data.activeTargets,
    // The body says whether the expression parsed (errorType "bad_data") whatever the HTTP status.
    query: async (expression, time) => {
      const answer = await getJson<{ status: string; data?: { resultType: string; result: QuerySeries[] }; errorType?: string; error?: string }>(
        `/api/v1/query?${new URLSearchParams({ query: expression, time: String(time.getTime() / 1000) })}`,
      );
      return answer.status === 'success'
        ? { status: 'success', resultType: answer.data!.resultType, result: answer.data!.result }
        : { status: 'error', errorType: answer.errorType ?? '', error: answer.error ?? '' };
    },
  };
}
