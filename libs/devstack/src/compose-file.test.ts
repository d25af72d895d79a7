// docker-compose.yml's promises that no app test exercises: what it publishes, and the stop order.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { APPS } from './compose-environment';

const workspaceRoot = resolve(__dirname, '../../..');

interface ComposeService {
  ports?: string[];
  container_name?: string;
  hostname?: string;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
}
const compose = parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };

/** A published port as compose reads it with no variables set: `${NAME:-default}` takes its default. */
const withDefaults = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('gives the apps only NODE_OPTIONS that node starts with (a bad one would crash-loop the app)', () => {
    const given = APPS.map((app) => [app, compose.services[app].environment?.NODE_OPTIONS] as const).filter(([, options]) => options !== undefined);
    expect(given.map(([app]) => app)).toContain('registry');
    for (const [app, options] of given) {
      const started = spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH, NODE_OPTIONS: options }, encoding: 'utf8' });
      expect([app, started.status, started.stderr]).toEqual([app, 0, '']);
    }
  });

  it('publishes every port on 127.0.0.1 unless SWITCHYARD_BIND says otherwise', () => {
    const published = Object.entries(compose.services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, withDefaults(port)]));
    expect(published.length).toBeGreaterThan(0);
    for (const [name, port] of published) expect(`${name} ${port}`).toMatch(new RegExp(`^${name} 127\\.0\\.0\\.1:\\d+:\\d+$`));
  });

  it('does not publish the registry: only the apps talk to it', () => {
    expect(compose.services.registry.ports).toBeUndefined();
  });

  it('deploy/compose.publish-registry.yml publishes the registry and its dashboard (HTTP_PORT), on 127.0.0.1 unless SWITCHYARD_BIND says otherwise', () => {
    const override = parse(readFileSync(join(workspaceRoot, 'deploy/compose.publish-registry.yml'), 'utf8')) as { services: Record<string, ComposeService> };
    const environment = compose.services.registry.environment!;
    expect(override.services.registry.ports).toEqual([
      `\${SWITCHYARD_BIND:-127.0.0.1}:${environment.GRPC_PORT}:${environment.GRPC_PORT}`,
      `\${SWITCHYARD_BIND:-127.0.0.1}:${environment.HTTP_PORT}:${environment.HTTP_PORT}`,
    ]);
  });

  it('publishes only the gateway among the apps, its gRPC and HTTP ports: user and order are reached through it', () => {
    const published = APPS.filter((app) => compose.services[app].ports !== undefined);
    expect(published).toEqual(['gateway']);
    expect(compose.services.gateway.ports?.map(withDefaults)).toEqual(['127.0.0.1:50050:50050', '127.0.0.1:8080:8080']);
  });

  it.each(['user', 'order'])('lets %s scale (--scale): no published port, no fixed name, ADVERTISE_ADDRESS=auto, found through the registry', (app) => {
    const service = compose.services[app];
    // A fixed host port or container name would clash from the second replica on.
    expect(service.ports).toBeUndefined();
    expect(service.container_name).toBeUndefined();
    expect(service.hostname).toBeUndefined();
    expect(service.environment?.ADVERTISE_ADDRESS).toBe('auto');
    expect(service.environment?.REGISTRY_ADDRESS).toBe('registry:50051');
    // Every replica's own health check, inside its container.
    expect((service as { healthcheck?: { test: string[] } }).healthcheck?.test.at(-1)).toBe(`127.0.0.1:${service.environment?.GRPC_PORT}`);
  });

  it('has no container_name anywhere, and the gateway, the one published app, advertises its service name', () => {
    for (const [name, service] of Object.entries(compose.services)) expect([name, service.container_name]).toEqual([name, undefined]);
    expect(compose.services.gateway.environment?.ADVERTISE_ADDRESS).toBe(`gateway:${compose.services.gateway.environment?.GRPC_PORT}`);
  });

  it('deploy/compose.publish-internal.yml publishes user and order for debugging, on 127.0.0.1 unless SWITCHYARD_BIND says otherwise', () => {
    const override = parse(readFileSync(join(workspaceRoot, 'deploy/compose.publish-internal.yml'), 'utf8')) as { services: Record<string, ComposeService> };
    expect(Object.fromEntries(Object.entries(override.services).map(([name, service]) => [name, service.ports]))).toEqual({
      user: ['${SWITCHYARD_BIND:-127.0.0.1}:50052:50052'],
      order: ['${SWITCHYARD_BIND:-127.0.0.1}:50053:50053'],
    });
  });

  it.each([
    'AUTH_JWT_SECRET',
    'AUTH_JWKS_URL',
    'AUTH_JWKS_FILE',
    'AUTH_ISSUER',
    'AUTH_AUDIENCE',
    'AUTH_PUBLIC_METHODS',
    'AUTH_METHOD_ROLES',
    'AUTH_ROLES_CLAIM',
    'AUTH_CLOCK_SKEW_MS',
    'RATE_LIMITS',
    'RATE_LIMITS_FILE',
    'REDIS_URL',
    'ROUTING_RULES',
    'ROUTING_RULES_FILE',
    'BREAKER_FAILURES',
    'BREAKER_OPEN_MS',
    'BREAKER_HUNG_AFTER_MS',
  ])('passes the edge setting %s from the shell or .env to the gateway', (variable) => {
    expect(compose.services.gateway.environment?.[variable]).toBe(`\${${variable}:-}`);
  });

  it('runs with a registry token by default: the registry writes it to a shared volume, every app reads it', () => {
    const tokenFile = compose.services.registry.environment?.REGISTRY_TOKEN_FILE;
    expect(tokenFile).toMatch(/^\/run\/switchyard\//);
    for (const app of APPS) {
      expect([app, compose.services[app].environment?.REGISTRY_TOKEN_FILE]).toEqual([app, tokenFile]);
      // A token the user sets wins; unset, compose gives an empty value, which the apps treat as unset.
      expect([app, compose.services[app].environment?.REGISTRY_TOKEN]).toEqual([app, '${REGISTRY_TOKEN:-}']);
      const mount = app === 'registry' ? 'registry-token:/run/switchyard' : 'registry-token:/run/switchyard:ro';
      expect([app, compose.services[app].volumes]).toEqual([app, [mount]]);
    }
  });

  it('serves every app\'s /metrics on a METRICS_PORT of its own, and prometheus scrapes each of them, every replica of user and order, unpublished', () => {
    const ports = APPS.map((app) => compose.services[app].environment?.METRICS_PORT);
    for (const [i, app] of APPS.entries()) expect([app, ports[i]]).toEqual([app, expect.stringMatching(/^\d+$/)]);
    expect(new Set(ports).size).toBe(APPS.length);
    const prometheus = compose.services.prometheus;
    expect(prometheus.volumes).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const config = parse(readFileSync(join(workspaceRoot, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[];
    };
    const staticTargets = config.scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((group) => group.targets));
    // A scaled service's name resolves to every replica: DNS discovery makes each one a target.
    const discovered = config.scrape_configs.flatMap((job) => (job.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((name) => `${name}:${sd.port}`)));
    expect(staticTargets.sort()).toEqual(['gateway', 'registry'].map((app) => `${app}:${compose.services[app].environment?.METRICS_PORT}`).sort());
    expect(discovered.sort()).toEqual(['order', 'user'].map((app) => `${app}:${compose.services[app].environment?.METRICS_PORT}`).sort());
  });

  it('provisions grafana with the prometheus datasource and a dashboard whose panels query metrics the apps serve', () => {
    const grafana = compose.services.grafana;
    expect(grafana.volumes).toEqual(['./deploy/grafana/provisioning:/etc/grafana/provisioning:ro', './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro']);
    const datasources = parse(readFileSync(join(workspaceRoot, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; url: string }[] };
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' })]);
    const dashboard = JSON.parse(readFileSync(join(workspaceRoot, 'deploy/grafana/dashboards/switchyard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    // A row (the events row) has no query of its own.
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join('\n');
    for (const metric of ['rpc_server_duration_seconds', 'rpc_client_duration_seconds', 'rpc_client_retries_total', 'rpc_client_outlier_ejections_total', 'gateway_circuit_breaker_state', 'registry_instances', 'events_outbox_unsent', 'events_consumer_pending', 'events_lag_seconds', 'events_consumed_total{outcome="dead_lettered"}']) {
      expect(queries).toContain(metric);
    }
  });

  it('runs NATS with JetStream on a volume, unpublished and health-checked, as the broker of user and order, which stop before it', () => {
    const nats = compose.services.nats as ComposeService & { image: string; command: string[]; healthcheck: { test: string[] } };
    expect(nats.image).toMatch(/^nats:2\.10-alpine$/);
    expect(nats.command.join(' ')).toMatch(/-js -sd \/data -m 8222/);
    expect(nats.volumes).toEqual(['nats-data:/data']);
    expect(nats.ports).toBeUndefined();
    expect(nats.healthcheck.test).toEqual(['CMD', 'wget', '-qO-', 'http://localhost:8222/healthz?js-enabled-only=true']);
    for (const app of APPS) {
      const events = ['user', 'order'].includes(app);
      expect([app, compose.services[app].environment?.EVENTS_URL]).toEqual([app, events ? 'nats://nats:4222' : undefined]);
      // Started is enough: the apps serve without the broker and connect when it answers.
      expect([app, compose.services[app].depends_on?.nats]).toEqual([app, events ? { condition: 'service_started' } : undefined]);
    }
  });

  it('starts every app after jaeger, so that stop ends the apps before the collector they flush to', () => {
    for (const app of APPS) expect(compose.services[app].depends_on?.jaeger).toBeDefined();
  });

  it('docker-compose.tls.yml gives every app its own certificate from ./certs, mounted read-only, and the one CA', () => {
    const tls = parse(readFileSync(join(workspaceRoot, 'docker-compose.tls.yml'), 'utf8')) as {
      services: Record<string, { environment: Record<string, string>; volumes: string[] }>;
    };
    expect(Object.keys(tls.services).sort()).toEqual([...APPS].sort());
    for (const app of APPS) {
      expect(tls.services[app].environment).toEqual({ TLS_CERT: `/certs/${app}.crt`, TLS_KEY: `/certs/${app}.key`, TLS_CA: '/certs/ca.crt' });
      expect(tls.services[app].volumes).toEqual(['./certs:/certs:ro']);
    }
  });
});
