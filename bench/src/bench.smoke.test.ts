// Runs the BUILT harness (dist/bench, built by the test target's dependency) with --smoke and
// checks the report's shape. It asserts nothing about timing: the numbers of a one-second run on
// a shared machine mean nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchReport } from './bench-report';

const workspaceRoot = resolve(__dirname, '..', '..');
const harness = join(workspaceRoot, 'dist', 'bench', 'main.js');

function runHarness(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [harness, ...args], { cwd: workspaceRoot, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? fail(new Error(`${error.message}\n${stderr}`)) : done({ stdout, stderr }),
    );
  });
}

describe('bench --smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario and writes a well-formed report', async () => {
    const jsonPath = join(dir, 'report.json');
    const { stdout, stderr } = await runHarness(['--smoke', '--json', jsonPath]);
    const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchReport;

    expect(report.machine).toEqual({
      cpus: expect.any(Number),
      model: expect.any(String),
      totalMemoryMb: expect.any(Number),
      platform: expect.any(String),
      node: process.version,
      gitCommit: expect.stringMatching(/^([0-9a-f]{40}(-dirty)?|unknown)$/),
    });
    expect(report.load).toMatchObject({ smoke: true, mode: { kind: 'closed' } });
    expect(report.pinning).toEqual(expect.any(String));
    expect(report.scenarios.map((s) => s.scenario)).toEqual(['unary']);

    const [unary] = report.scenarios;
    expect(unary.baseline).toBe('grpc-js');
    expect(unary.variants.map((v) => v.variant)).toEqual(['grpc-js', 'switchyard']);
    for (const variant of unary.variants) {
      expect(variant.calls).toBeGreaterThan(0);
      expect(variant).toMatchObject({
        errors: expect.any(Number),
        throughput: expect.any(Number),
        p50Us: expect.any(Number),
        p90Us: expect.any(Number),
        p99Us: expect.any(Number),
        p999Us: expect.any(Number),
        serverCpuUsPerCall: expect.any(Number),
        clientCpuUsPerCall: expect.any(Number),
        serverRssMb: expect.any(Number),
        histogram: expect.any(String),
        vsBaseline: { throughput: expect.any(Number), serverCpuPerCall: expect.any(Number), clientCpuPerCall: expect.any(Number), p50: expect.any(Number), p99: expect.any(Number) },
      });
      expect(variant.processes.filter((p) => p.answersCalls)).toHaveLength(1);
    }
    expect(unary.variants[0].vsBaseline.throughput).toBe(1);
    expect(unary.variants[1].targets.map((t) => t.metric)).toEqual(['throughput', 'serverCpuPerCall', 'p99']);

    // The same report as a Markdown table on stdout, one row per variant; progress on stderr.
    expect(stdout).toContain('| scenario | variant | calls |');
    expect(stdout).toMatch(/^\| unary \| grpc-js \|/m);
    expect(stdout).toMatch(/^\| unary \| switchyard \|/m);
    expect(stderr).toContain('unary/switchyard');
  }, 120_000);

  it('rejects an unknown scenario with the usage', async () => {
    await expect(runHarness(['--scenario', 'nope'])).rejects.toThrow(/unknown scenario 'nope'/);
  });
});
