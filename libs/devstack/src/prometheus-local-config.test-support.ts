// Test support (not a test): the committed deploy/prometheus/prometheus.yml made runnable on this
// machine, so a real Prometheus scrapes the LocalStack's apps with the committed job and label
// layout. Only where the targets are found changes:
// - a static target `<service>:<port>` becomes `127.0.0.1:<that app's metrics port>`;
// - a dns_sd_configs entry (names + port, as compose resolves `user` to every replica) becomes
//   a static_configs group with one 127.0.0.1 target per running instance of each named app,
//   and `__meta_dns_name` set as DNS discovery would set it, so the job's relabel_configs run
//   unchanged on the same input;
// - the scrape and evaluation intervals (global and per job) shrink to `interval`, so rate()
//   has two samples soon.
// Every committed port must be the METRICS_PORT docker-compose.yml gives that app, and any other
// kind of service discovery is refused: this mapping would not be proving it.
import { parse, stringify } from 'yaml';
import { APPS, type App } from './compose-environment';

interface TargetGroup {
  targets: string[];
  labels?: Record<string, string>;
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: TargetGroup[];
  dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
  [key: string]: unknown;
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  scrape_configs?: ScrapeConfig[];
  [key: string]: unknown;
}

const SUPPORTED_KEYS = new Set(['job_name', 'static_configs', 'dns_sd_configs', 'relabel_configs', 'metric_relabel_configs', 'metrics_path', 'scheme', 'scrape_interval', 'scrape_timeout', 'honor_labels']);

export interface LocalScrapeTargets {
  /** docker-compose.yml's METRICS_PORT of each app: what the committed targets must name. */
  composeMetricsPorts: Record<App, number>;
  /** The metrics port of every running instance of each app on 127.0.0.1. */
  localMetricsPorts: Record<App, number[]>;
  /** Scrape and evaluation interval of the derived config, e.g. `1s`. */
  interval: string;
}

function appNamed(name: string, where: string): App {
  if (!(APPS as readonly string[]).includes(name)) throw new Error(`${where} names "${name}", which is no app of docker-compose.yml (${APPS.join(', ')})`);
  return name as App;
}

function checkPort(app: App, port: number, where: string, ports: LocalScrapeTargets): void {
  if (port !== ports.composeMetricsPorts[app]) {
    throw new Error(`${where} scrapes ${app} on port ${port}, but docker-compose.yml sets ${app}'s METRICS_PORT to ${ports.composeMetricsPorts[app]}: make them agree`);
  }
}

const localTargets = (app: App, ports: LocalScrapeTargets) => ports.localMetricsPorts[app].map((port) => `127.0.0.1:${port}`);

/** The committed config text, rewritten as the header says; returns the new YAML text. */
export function deriveLocalPrometheusConfig(committedYaml: string, ports: LocalScrapeTargets): string {
  const config = parse(committedYaml) as PrometheusConfig;
  const scrapeConfigs = (config.scrape_configs ?? []).map((job): ScrapeConfig => {
    const where = `deploy/prometheus/prometheus.yml job "${job.job_name}"`;
    const unknown = Object.keys(job).filter((key) => !SUPPORTED_KEYS.has(key));
    if (unknown.length > 0) throw new Error(`${where} uses ${unknown.join(', ')}, which the local scrape test cannot map to this machine: extend prometheus-local-config.test-support.ts`);
    const groups: TargetGroup[] = [];
    for (const group of job.static_configs ?? []) {
      const targets = group.targets.flatMap((target) => {
        const [host, port] = target.split(':');
        const app = appNamed(host, `${where} target ${target}`);
        checkPort(app, Number(port), `${where} target ${target}`, ports);
        return localTargets(app, ports);
      });
      groups.push({ ...group, targets });
    }
    for (const sd of job.dns_sd_configs ?? []) {
      if (sd.type !== undefined && sd.type !== 'A') throw new Error(`${where}: dns_sd_configs type ${sd.type} has no port of its own to check; use type A with a port`);
      for (const name of sd.names) {
        const app = appNamed(name, `${where} dns_sd_configs`);
        checkPort(app, sd.port ?? -1, `${where} dns_sd_configs "${name}"`, ports);
        groups.push({ targets: localTargets(app, ports), labels: { __meta_dns_name: name } });
      }
    }
    // A job's own interval would outlast the short one the test waits on.
    const rest: ScrapeConfig = { ...job, static_configs: groups };
    for (const key of ['dns_sd_configs', 'scrape_interval', 'scrape_timeout']) delete rest[key];
    return rest;
  });
  return stringify({ ...config, global: { ...config.global, scrape_interval: ports.interval, scrape_timeout: ports.interval, evaluation_interval: ports.interval }, scrape_configs: scrapeConfigs });
}
