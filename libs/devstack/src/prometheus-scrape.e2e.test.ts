// End to end: the committed Prometheus config and Grafana dashboard against a real Prometheus
// (Debian's prometheus package) scraping the BUILT apps. promtool checks the config as committed;
// Prometheus then runs a copy with only the targets moved to this machine's free metrics ports
// (prometheus-local-config.test-support.ts says how), and every panel query of the dashboard is
// run through its HTTP API after some traffic through the gateway (user and order with events on,
// through a nats-server of the test's own: needs nats-server). Without /usr/bin/prometheus
// and /usr/bin/promtool the suite is skipped, or fails under SWITCHYARD_REQUIRE_PROMETHEUS=1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { parse } from 'yaml';
import { connectReflection, eventually, startNatsServer, type NatsServer, type ReflectionConnection } from '@switchyard/testing';
import { APPS, readComposeEnvironment, type App } from './compose-environment';
import { LocalStack } from './local-stack';
import { deriveLocalPrometheusConfig } from './prometheus-local-config.test-support';
import { missingPrometheusTools, promtoolCheckConfig, startPrometheus, type PrometheusServer, type QueryAnswer } from './prometheus-server.test-support';

const workspaceRoot = resolve(__dirname, '../../..');
const PROMETHEUS_CONFIG = join(workspaceRoot, 'deploy/prometheus/prometheus.yml');
const DASHBOARD = join(workspaceRoot, 'deploy/grafana/dashboards/switchyard.json');
const DATASOURCES = join(workspaceRoot, 'deploy/grafana/provisioning/datasources/prometheus.yml');
const DASHBOARD_PROVIDERS = join(workspaceRoot, 'deploy/grafana/provisioning/dashboards/switchyard.yml');
jest.setTimeout(90_000);

/** The derived config scrapes this often, so rate() over any window has two samples within seconds. */
const SCRAPE_INTERVAL = '1s';
/**
 * Grafana's variables, as Grafana would fill them in for this scrape interval: $__interval is the
 * step (here one scrape), $__rate_interval four scrapes (Grafana's floor), $__range the last
 * minute. The dashboard defines no variables of its own (templating.list), so any other `$name`
 * in an expression is one Grafana cannot fill in, and fails the test.
 */
const GRAFANA_VARIABLES: Record<string, string> = { __rate_interval: '4s', __interval: '1s', __interval_ms: '1000', __range: '1m', __range_s: '60' };

/**
 * Panel queries that may rightly answer no series for this traffic; they must still parse. Every
 * other query must answer at least one series with a number.
 */
const MAY_BE_EMPTY: Record<string, string> = {
  'Retries/s (attempts beyond the first) A': 'no call of this traffic is retried (NOT_FOUND and FAILED_PRECONDITION are not retryable)',
  'Outlier ejections (per 5m) A': 'no instance fails often enough to be ejected',
  'Registry heartbeat gap p99 and evictions (per 5m) B': 'no lease expires while every app is up (the last test kills one to see it)',
  'Dead letters and publish failures (per 5m) A': 'every event of this traffic applies (the counter has no series before a first dead letter)',
  'Dead letters and publish failures (per 5m) B': 'the broker is up throughout',
};

interface PanelQuery {
  name: string;
  expr: string;
  datasourceUid: string | undefined;
}

interface DashboardPanel {
  title: string;
  datasource?: { uid?: string };
  targets?: { refId: string; expr: string; datasource?: { uid?: string } }[];
  panels?: DashboardPanel[];
}

/** Every target of every panel (rows' panels too), named `<panel title> <refId>`. */
function panelQueries(dashboard: { panels: DashboardPanel[] }): PanelQuery[] {
  const queries: PanelQuery[] = [];
  const walk = (panels: DashboardPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        queries.push({ name: `${panel.title} ${target.refId}`, expr: target.expr, datasourceUid: target.datasource?.uid ?? panel.datasource?.uid });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return queries;
}

/** `expr` with Grafana's variables filled in; throws on a variable Grafana would not know. */
function withVariables(query: PanelQuery): string {
  return query.expr.replace(/\$\{?(\w+)(?::\w+)?\}?/g, (whole, name: string) => {
    const value = GRAFANA_VARIABLES[name];
    if (value === undefined) throw new Error(`dashboard panel "${query.name}" uses ${whole}, which neither the dashboard's templating nor Grafana defines: ${query.expr}`);
    return value;
  });
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) => Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([key, value]) => a[key] === value);

/** The label sets of the series whose value is above zero. */
const withRate = (answer: QueryAnswer) => (answer.status === 'success' ? answer.result.filter((series) => Number(series.value[1]) > 0).map((series) => series.metric) : []);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The port an instance logged for /metrics (METRICS_PORT=0 in the stack: the OS picks it). */
function loggedMetricsPort(lines: string[], name: string): number {
  for (const line of lines) if (line.includes('"msg":"metrics serving"')) return (JSON.parse(line) as { port: number }).port;
  throw new Error(`${name} logged no 'metrics serving' line:\n${lines.slice(-10).join('\n')}`);
}

const missing = missingPrometheusTools();
const required = process.env.SWITCHYARD_REQUIRE_PROMETHEUS === '1';
if (missing.length > 0 && !required) {
  // The one place a skipped suite can say why.
  console.warn(`Prometheus scrape tests SKIPPED: ${missing.join(' and ')} cannot be run; install Debian's prometheus package (apt-get install --no-install-recommends prometheus), or set SWITCHYARD_REQUIRE_PROMETHEUS=1 to make this a failure`);
}
const describeWithPrometheus = missing.length === 0 || required ? describe : describe.skip;

describeWithPrometheus('the committed Prometheus config and Grafana dashboard, on a real Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: DashboardPanel[] };
  const queries = panelQueries(dashboard);
  const promql = new Map(queries.map((query) => [query.name, withVariables(query)]));
  let stack: LocalStack | undefined;
  let nats: NatsServer | undefined;
  let prometheus: PrometheusServer | undefined;
  let gateway: ReflectionConnection | undefined;
  let dataDir: string | undefined;

  beforeAll(() => {
    if (missing.length > 0) throw new Error(`SWITCHYARD_REQUIRE_PROMETHEUS=1 but ${missing.join(' and ')} cannot be run: install Debian's prometheus package (apt-get install --no-install-recommends prometheus)`);
  });

  afterAll(async () => {
    gateway?.close();
    await prometheus?.stop();
    await stack?.stop();
    await nats?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('promtool accepts deploy/prometheus/prometheus.yml as committed', () => {
    const check = promtoolCheckConfig(PROMETHEUS_CONFIG);
    expect([check.status, check.output]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  it("names, in every panel, the uid of the Prometheus datasource Grafana's provisioning creates", () => {
    const provisioned = (parse(readFileSync(DATASOURCES, 'utf8')) as { datasources: { uid: string; type: string; url: string }[] }).datasources;
    const prometheusSources = provisioned.filter((source) => source.type === 'prometheus');
    expect(prometheusSources).toHaveLength(1);
    // Grafana reaches Prometheus by its compose service name and port.
    expect(prometheusSources[0].url).toBe('http://prometheus:9090');
    expect(queries.length).toBeGreaterThan(0);
    for (const query of queries) expect([query.name, query.datasourceUid]).toEqual([query.name, prometheusSources[0].uid]);
  });

  it('provisions the dashboard from where docker-compose.yml mounts deploy/grafana/dashboards', () => {
    const providers = (parse(readFileSync(DASHBOARD_PROVIDERS, 'utf8')) as { providers: { options: { path: string } }[] }).providers;
    const grafana = (parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as { services: { grafana: { volumes: string[] } } }).services.grafana;
    const mounted = grafana.volumes.map((volume) => volume.split(':')).find(([source]) => source === './deploy/grafana/dashboards');
    expect(mounted).toBeDefined();
    expect(providers.map((provider) => provider.options.path)).toEqual([mounted![1]]);
  });

  it('scrapes every app with the committed jobs and labels, and every panel query answers', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-scrape-'));
    // A broker of the test's own, so the events panels have events to show.
    nats = await startNatsServer();
    stack = await LocalStack.start({ workspaceRoot, dataDir, eventsUrl: nats.url });
    const compose = readComposeEnvironment(workspaceRoot);
    const composeMetricsPorts = Object.fromEntries(APPS.map((app) => [app, Number(compose[app].METRICS_PORT)])) as Record<App, number>;
    const localMetricsPorts = Object.fromEntries(APPS.map((app) => [app, [] as number[]])) as Record<App, number[]>;
    for (const instance of stack.processes) localMetricsPorts[instance.options.app as App].push(loggedMetricsPort(instance.lines, instance.name));

    const config = deriveLocalPrometheusConfig(readFileSync(PROMETHEUS_CONFIG, 'utf8'), { composeMetricsPorts, localMetricsPorts, interval: SCRAPE_INTERVAL });
    prometheus = await startPrometheus(config);
    const server = prometheus;

    // Every app a target, up, under the job and `app` label the committed config gives it.
    const targets = await eventually(async () => {
      const active = await server.targets();
      return active.length === APPS.length && active.every((target) => target.health === 'up') ? active : undefined;
    }, 20_000, `every target up in ${server.url}/api/v1/targets`).catch(async (error: Error) => {
      throw new Error(`${error.message}\ntargets: ${JSON.stringify(await server.targets())}\nprometheus:\n${server.output()}`);
    });
    const layout = targets.map((target) => ({ job: target.labels.job, app: target.labels.app, instance: target.labels.instance }));
    expect(layout).toEqual(
      expect.arrayContaining([
        { job: 'switchyard', app: 'gateway', instance: `127.0.0.1:${localMetricsPorts.gateway[0]}` },
        { job: 'switchyard', app: 'registry', instance: `127.0.0.1:${localMetricsPorts.registry[0]}` },
        { job: 'switchyard-user', app: 'user', instance: `127.0.0.1:${localMetricsPorts.user[0]}` },
        { job: 'switchyard-order', app: 'order', instance: `127.0.0.1:${localMetricsPorts.order[0]}` },
      ]),
    );

    // Traffic through the gateway, calls that succeed and calls that fail, in two rounds with a
    // scrape of every app between them: a series is created at its first call, and rate() sees
    // only what changes after a series' first sample, so the second round is what the panels show.
    gateway = connectReflection(stack.address('gateway'));
    const client = gateway;
    const traffic = async (round: number) => {
      const email = `scraped-${round}-${Date.now()}@example.com`;
      const created = (await client.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'Scraped', email })).json as { user: { id: string } };
      const userId = created.user.id;
      await client.invoke('switchyard.user.v1.UserService/GetUser', { id: userId });
      await expect(client.invoke('switchyard.user.v1.UserService/GetUser', { id: 'no-such-user' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
      await client.invoke('switchyard.order.v1.OrderService/CreateOrder', { userId, items: [{ sku: 'gauge', quantity: 2, unitPriceCents: '150' }], requestId: `scrape-${userId}` });
      await expect(
        client.invoke('switchyard.order.v1.OrderService/CreateOrder', { userId: 'no-such-user', items: [{ sku: 'gauge', quantity: 1, unitPriceCents: '1' }], requestId: `scrape-none-${userId}` }),
      ).rejects.toMatchObject({ code: Status.FAILED_PRECONDITION });
      await client.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId });
    };
    await traffic(1);
    const firstRoundDone = Date.now();
    await eventually(async () => (await server.targets()).every((target) => Date.parse(target.lastScrape) > firstRoundDone), 20_000, 'a scrape of every app after the first round');
    await traffic(2);

    // What the panels must show for this traffic: the labels they group by, at a rate above zero.
    const expectedSeries: Record<string, Record<string, string>[]> = {
      'Calls/s by service and code (server) A': [
        { rpc_service: 'switchyard.user.v1.UserService', rpc_grpc_status_code: '0' },
        { rpc_service: 'switchyard.user.v1.UserService', rpc_grpc_status_code: String(Status.NOT_FOUND) },
        { rpc_service: 'switchyard.order.v1.OrderService', rpc_grpc_status_code: String(Status.FAILED_PRECONDITION) },
        { rpc_service: 'switchyard.gateway.v1.GatewayService', rpc_grpc_status_code: '0' },
      ],
      'Client calls/s by app, service and code A': [
        { app: 'gateway', rpc_service: 'switchyard.user.v1.UserService', rpc_grpc_status_code: String(Status.NOT_FOUND) },
        { app: 'order', rpc_service: 'switchyard.user.v1.UserService', rpc_grpc_status_code: '0' },
      ],
      'Registry instances by service and state A': ['user', 'order', 'gateway'].map((service) => ({ service, state: 'SERVING' })),
      // Each created order's event, published by order and applied by user's consumer.
      'Events published and consumed/s A': [{ app: 'order' }],
      'Events published and consumed/s B': [{ consumer: 'user-order-totals', outcome: 'applied' }],
      'Event lag p50 / p99 (outbox write to applied) A': [{ consumer: 'user-order-totals' }],
      'Event lag p50 / p99 (outbox write to applied) B': [{ consumer: 'user-order-totals' }],
    };
    for (const refId of ['A', 'B']) {
      expectedSeries[`Server latency p50 / p99 by service ${refId}`] = [{ rpc_service: 'switchyard.user.v1.UserService' }, { rpc_service: 'switchyard.order.v1.OrderService' }];
      expectedSeries[`Client latency p50 / p99 by app and service ${refId}`] = [
        { app: 'gateway', rpc_service: 'switchyard.user.v1.UserService' },
        { app: 'order', rpc_service: 'switchyard.user.v1.UserService' },
      ];
    }
    // A renamed panel must not leave these lists checking nothing.
    const stale = [...Object.keys(MAY_BE_EMPTY), ...Object.keys(expectedSeries)].filter((name) => !queries.some((query) => query.name === name));
    expect(stale).toEqual([]);
    const problems = (answers: Map<string, QueryAnswer>): string[] =>
      queries.flatMap((query) => {
        const answer = answers.get(query.name)!;
        if (answer.status === 'error') return [`${query.name}: ${answer.errorType}: ${answer.error}`];
        if (query.name in MAY_BE_EMPTY) return [];
        if (!answer.result.some((series) => Number.isFinite(Number(series.value[1])))) return [`${query.name}: no series with a number: ${JSON.stringify(answer.result)}`];
        const shown = withRate(answer);
        const absent = (expectedSeries[query.name] ?? []).filter((wanted) => !shown.some((metric) => sameLabels(metric, wanted)));
        return absent.length > 0 ? [`${query.name}: no series above zero for ${JSON.stringify(absent)} in ${JSON.stringify(answer.result)}`] : [];
      });

    // Each query at "now", after the traffic; retried until the scrapes after it are in and every
    // rate() window holds two samples of it.
    let answers = new Map<string, QueryAnswer>();
    await eventually(async () => {
      const now = new Date();
      answers = new Map(await Promise.all(queries.map(async (query) => [query.name, await server.query(promql.get(query.name)!, now)] as const)));
      if (problems(answers).length === 0) return true;
      // Not yet: the next scrape is a second away, and Prometheus need not answer 50 times a second.
      await pause(250);
      return false;
    }, 30_000, 'every panel query answered').catch((error: Error) => {
      throw new Error(`${error.message}\n${problems(answers).join('\n')}`);
    });

   
    // Closed breakers are 0: there, not above zero.
    const breakers = answers.get('Gateway breaker state (0 closed, 1 half-open, 2 open) A') as Extract<QueryAnswer, { status: 'success' }>;
    expect(breakers.result.map((series) => [series.metric.upstream, series.value[1]])).toEqual(expect.arrayContaining([['user', '0'], ['order', '0']]));
  });

  it("shows a service's first eviction in the evictions panel", async () => {
    const server = prometheus;
    const order = stack?.processes.find((instance) => instance.options.app === 'order');
    if (!server || !order) throw new Error('needs the stack and Prometheus of the test before');
    // SIGKILL: no deregistration, so the registry evicts order when its lease runs out, and the
    // counter goes from the 0 it started at to 1, an increase Prometheus can see.
    await order.stop('SIGKILL');
    const name = 'Registry heartbeat gap p99 and evictions (per 5m) B';
    let answer: QueryAnswer | undefined;
    await eventually(async () => {
      answer = await server.query(promql.get(name)!, new Date());
      if (withRate(answer).some((metric) => sameLabels(metric, { service: 'order' }))) return true;
      await pause(250);
      return false;
    }, 30_000, `order's eviction in "${name}"`).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(answer)}`);
    });
  });
});
