// Runs the BUILT harness (dist/bench, built by the test target's dependency) with --smoke and
// checks the report's shape. It asserts nothing about timing: the numbers of a one-second run on
// a shared machine mean nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchReport } from './bench-report';
import { H2LOAD, h2loadAvailable } from './h2load-window';

const workspaceRoot = resolve(__dirname, '..', '..');
const harness = join(workspaceRoot, 'dist', 'bench', 'main.js');

// Generous: npm test runs the smoke beside other end-to-end tests, and a run that alone takes
// 2.5 minutes then takes longer; the limit is only there so that a hung harness fails.
const HARNESS_TIMEOUT_MS = 480_000;

function runHarness(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [harness, ...args], { cwd: workspaceRoot, timeout: HARNESS_TIMEOUT_MS }, (error, stdout, stderr) =>
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
    expect(report.scenarios.map((s) => s.scenario)).toEqual(expect.arrayContaining(['unary', 'client', 'fanout', 'http', 'tracing', 'peers', 'apps-user', 'apps-order', 'events-sqlite']));
    // Every row of events-postgres needs PostgreSQL, an outside service: none in a smoke run.
    expect(report.scenarios.map((s) => s.scenario)).not.toContain('events-postgres');
    expect(report.rowScenarios.map((s) => s.scenario)).toEqual(['registry']);

    const [unary] = report.scenarios;
    expect(unary.baseline).toBe('grpc-js');
    expect(unary.variants.map((v) => v.variant)).toEqual(['grpc-js', 'switchyard']);
    // By name, so that a failure says which variant answered nothing in its window.
    const silent = report.scenarios.flatMap((s) => s.variants.filter((v) => !(v.calls > 0)).map((v) => `${s.scenario}/${v.variant}: ${v.calls} calls, ${v.errors} errors`));
    expect(silent).toEqual([]);
    for (const variant of report.scenarios.flatMap((s) => s.variants)) {
      expect(variant).toMatchObject({
        errors: expect.any(Number),
        throughput: expect.any(Number),
        p50Us: expect.any(Number),
        p90Us: expect.any(Number),
        p99Us: expect.any(Number),
        p999Us: expect.any(Number),
        serverCpuUsPerCall: expect.any(Number),
        serverHeapBytesPerCall: expect.any(Number),
        clientCpuUsPerCall: expect.any(Number),
        serverRssMb: expect.any(Number),
        histogram: expect.any(String),
        vsBaseline: { throughput: expect.any(Number), serverCpuPerCall: expect.any(Number), clientCpuPerCall: expect.any(Number), p50: expect.any(Number), p99: expect.any(Number) },
      });
      expect(variant.processes.filter((p) => p.answersCalls)).toHaveLength(1);
      // Every gRPC call a server answers allocates kilobytes (HTTP/2 stream, call objects, headers): zero would mean the meter counts nothing.
      expect(variant.serverHeapBytesPerCall).toBeGreaterThan(1000);
    }
    // The same for the Node load generators' calls; h2load, the server scenario's client, has no V8 heap to measure.
    for (const scenario of report.scenarios) {
      for (const variant of scenario.variants) {
        if (scenario.scenario === 'server') expect(variant.clientHeapBytesPerCall).toBeUndefined();
        else expect(variant.clientHeapBytesPerCall).toBeGreaterThan(1000);
      }
    }
    for (const scenario of report.scenarios) {
      expect(scenario.variants[0].variant).toBe(scenario.baseline);
      expect(scenario.variants[0].vsBaseline.throughput).toBe(1);
      for (const target of scenario.variants.flatMap((v) => v.targets)) {
        expect(target).toMatchObject({ metric: expect.any(String), ratio: expect.any(Number), met: expect.any(Boolean) });
      }
    }
    expect(unary.variants[1].targets.map((t) => t.metric)).toEqual(['throughput', 'serverCpuPerCall', 'p99']);

    // apps: the shipped apps on SQLite next to the same call from memory; every call answered.
    for (const [scenario, service] of [['apps-user', 'user'], ['apps-order', 'order']]) {
      const apps = report.scenarios.find((s) => s.scenario === scenario)!;
      expect(apps.variants.map((v) => [v.variant, v.errors])).toEqual([
        [`${service} from memory`, 0],
        [`${service} app, SQLite`, 0],
      ]);
    }

    // events: CreateOrder with events off and on; with them on, every order's event went through
    // the outbox, JetStream and the user app's consumer, read from the apps' own metrics.
    const events = report.scenarios.find((s) => s.scenario === 'events-sqlite')!;
    expect(events.variants.map((v) => [v.variant, v.errors])).toEqual([
      ['CreateOrder, events off', 0],
      ['CreateOrder, events on', 0],
    ]);
    expect(events.variants[0].metrics).toEqual({});
    expect(events.variants[1].processes.find((p) => p.answersCalls)?.name).toBe('order');
    expect(events.variants[1].metrics).toEqual({
      eventsAppliedPerSecond: expect.any(Number),
      eventsPublishedPerSecond: expect.any(Number),
      lagP50Ms: expect.any(Number),
      lagP99Ms: expect.any(Number),
      backlogAtEnd: expect.any(Number),
      drainMs: expect.any(Number),
      eventsUnapplied: 0,
      deadLettered: 0,
    });
    expect(events.variants[1].metrics.eventsAppliedPerSecond).toBeGreaterThan(0);
    expect(events.variants[1].targets).toEqual([expect.objectContaining({ metric: 'metrics.eventsUnapplied', met: true })]);

    // server: GetUser from h2load, a C client. Left out, and saying why, where h2load is missing;
    // CI installs it and sets SWITCHYARD_REQUIRE_H2LOAD, under which the harness fails instead.
    const server = report.scenarios.find((s) => s.scenario === 'server');
    if (h2loadAvailable()) {
      expect(server!.variants.map((v) => [v.variant, v.errors])).toEqual([
        ['grpc-js', 0],
        ['switchyard', 0],
        ['user app, SQLite', 0],
      ]);
      // The C client costs a fraction of what the server does per call.
      for (const variant of server!.variants) expect(variant.clientCpuUsPerCall).toBeLessThan(variant.serverCpuUsPerCall);
    } else {
      expect(server).toBeUndefined();
      expect(report.leftOut).toEqual([{ scenario: 'server', reason: expect.stringContaining(`${H2LOAD} not found`) }]);
      console.log(`skipped: the server scenario's checks (${H2LOAD} not found; Debian: apt-get install nghttp2-client)`);
    }

    // fanout: the built apps; every process of the stack is measured, the gateway or user answers.
    const fanout = report.scenarios.find((s) => s.scenario === 'fanout')!;
    expect(fanout.variants.map((v) => v.variant)).toEqual([
      'direct GetUser',
      'gateway',
      'gateway, upstreams +5ms, 1 caller',
      // The four-caller row takes the one-caller row's path: left out of the smoke run.
      'grpc-js gateway (bare, in memory), upstreams +5ms, 1 caller',
    ]);
    for (const variant of fanout.variants.slice(0, 3)) {
      expect(variant.processes.map((p) => p.name).sort()).toEqual(['gateway', 'order', 'registry', 'user']);
      expect(variant.errors).toBe(0);
    }
    expect(fanout.variants[0].processes.find((p) => p.answersCalls)?.name).toBe('user');
    expect(fanout.variants[1].processes.find((p) => p.answersCalls)?.name).toBe('gateway');
    expect(fanout.variants[1].targets.map((t) => t.metric)).toEqual(['throughput']);
    expect(fanout.variants[2].targets.map((t) => t.metric)).toEqual(['p50Ms']);
    expect(fanout.variants[2].mode).toEqual({ kind: 'closed', concurrency: 1 });
    // The bare grpc-js reference: its own three processes, no registry, one caller, every call complete.
    const bare = fanout.variants[3];
    expect(bare.processes.map((p) => p.name).sort()).toEqual(['gateway (grpc-js)', 'order (grpc-js)', 'user (grpc-js)']);
    expect(bare.processes.find((p) => p.answersCalls)?.name).toBe('gateway (grpc-js)');
    expect(bare.mode).toEqual({ kind: 'closed', concurrency: 1 });
    expect(bare.calls).toBeGreaterThan(0);
    expect(bare.errors).toBe(0);

    // tracing: off is the baseline; the sampled variants count spans at the receiver.
    const tracing = report.scenarios.find((s) => s.scenario === 'tracing')!;
    expect(tracing.variants.map((v) => v.variant)).toEqual(['off', '10%', '100%']);
    expect(tracing.variants[0].metrics).toEqual({});
    for (const variant of tracing.variants.slice(1)) {
      expect(variant.targets.map((t) => t.metric)).toEqual(['throughput', 'metrics.spansDropped']);
      expect(variant.metrics).toEqual({
        spansEnded: expect.any(Number),
        spansReceived: expect.any(Number),
        spansDropped: expect.any(Number),
        getUserTraces: expect.any(Number),
      });
      // The server and the load generator reported their own counts, and the receiver heard from them.
      expect(variant.metrics.spansDropped).toBe(variant.metrics.spansEnded - variant.metrics.spansReceived);
    }
    // At 100% every call is traced: spans were made and arrived.
    expect(tracing.variants[2].metrics.getUserTraces).toBeGreaterThan(0);
    expect(tracing.variants[2].metrics.spansReceived).toBeGreaterThan(tracing.variants[2].metrics.getUserTraces);

    // The same report as a Markdown table on stdout, one row per variant; progress on stderr.
    expect(stdout).toContain('| scenario | variant | calls |');
    expect(stdout).toMatch(/^\| unary \| grpc-js \|/m);
    expect(stdout).toMatch(/^\| unary \| switchyard \|/m);
    expect(stdout).toMatch(/^\| fanout \| gateway \|.*calls\/s [\d.]+x \(>= 0\.28\) (met|\*\*missed\*\*) \|$/m);
    expect(stdout).toMatch(/^\| fanout \| gateway, upstreams \+5ms, 1 caller \|.*p50 [\d.]+ ms \(<= 7\) (met|\*\*missed\*\*) \|$/m);
    expect(stdout).toMatch(/^\| tracing \| 100% \|.*spansDropped \d+ \(<= 0\) (met|\*\*missed\*\*) \|$/m);
    expect(stderr).toContain('unary/switchyard');
    expect(stderr).toContain('fanout/gateway');
    expect(stderr).toContain('tracing/100%');

    // registry: the built registry under a small simulated fleet, in a table of its own with
    // absolute targets; every row measured something, every target judged.
    const registry = report.rowScenarios.find((s) => s.scenario === 'registry')!;
    const measurements = ['heartbeats every 0.3 s', 'heartbeat capacity', 'Watch propagation', 'expiry', 'memory per instance'];
    expect(registry.rows.map((r) => r.name)).toEqual(measurements.map((m) => `200 instances: ${m}`));
    expect(registry.columns.map((c) => c.key)).toEqual(expect.arrayContaining(['instances', 'perSecond', 'p99Ms', 'heapBytesPerInstance']));
    for (const row of registry.rows) {
      expect(row.targets.length).toBeGreaterThan(0);
      for (const target of row.targets) {
        expect(target).toMatchObject({ value: expect.any(String), measured: expect.any(Number), met: expect.any(Boolean) });
        expect(row.values[target.value]).toBe(target.measured);
      }
    }
    const [heartbeats, capacity, propagation, expiry, memory] = registry.rows;
    for (const row of [heartbeats, capacity]) {
      expect(row.values).toMatchObject({ samples: expect.any(Number), perSecond: expect.any(Number), p99Ms: expect.any(Number), cpuUsPerOp: expect.any(Number) });
      // A heartbeat the registry answers allocates kilobytes on its heap; zero would mean the meter counts nothing.
      expect(row.values.heapKbPerOp).toBeGreaterThan(1);
    }
    expect(heartbeats.values.samples).toBeGreaterThan(0);
    expect(capacity.values.samples).toBeGreaterThan(0);
    // Every one of the 20 watchers saw each probe instance arrive, and each expiring one leave.
    expect(propagation.values).toMatchObject({ samples: 5 * 20, errors: 0 });
    expect(expiry.values).toMatchObject({ samples: 10, errors: 0 });
    expect(memory.values).toEqual({ instances: 200, heapBytesPerInstance: expect.any(Number), rssBytesPerInstance: expect.any(Number) });
    expect(stdout).toContain('| scenario | measurement | instances |');
    expect(stdout).toMatch(/^\| registry \| 200 instances: Watch propagation \|.*p99 ms [\d.]+ \(<= 50\) (met|\*\*missed\*\*) \|$/m);
    expect(stdout).toMatch(/^\| registry \| 200 instances: memory per instance \|.*heap B\/instance -?[\d,]+ \(<= 2,048\) (met|\*\*missed\*\*) \|$/m);
    expect(stderr).toContain('registry/200 instances');
  }, HARNESS_TIMEOUT_MS + 10_000);

  it('runs a scenario in rounds and reports the median round with every round in its notes', async () => {
    const jsonPath = join(dir, 'rounds.json');
    await runHarness(['--smoke', '--scenario', 'unary', '--rounds', '2', '--json', jsonPath]);
    const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchReport;
    expect(report.load.rounds).toBe(2);
    const [unary] = report.scenarios;
    expect(unary.variants.map((v) => v.variant)).toEqual(['grpc-js', 'switchyard']);
    expect(unary.variants[1].notes.at(-1)).toMatch(/^median of 2 rounds \(vs baseline per round: calls\/s [\d.]+x, [\d.]+x; CPU\/call [\d.]+x, [\d.]+x\)$/);
  }, HARNESS_TIMEOUT_MS + 10_000);

  it('rejects an unknown scenario with the usage', async () => {
    await expect(runHarness(['--scenario', 'nope'])).rejects.toThrow(/unknown scenario 'nope'/);
  });
});
