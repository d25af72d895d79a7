import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const APPS = ['registry', 'user', 'order', 'gateway'] as const;
export type App = (typeof APPS)[number];

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string | number> | string[] }>;
}

/** The `environment:` docker-compose.yml gives each app, as strings. */
export function readComposeEnvironment(workspaceRoot: string): Record<App, Record<string, string>> {
  const compose = parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8')) as ComposeFile;
  const result = {} as Record<App, Record<string, string>>;
  for (const app of APPS) {
    const environment = compose.services[app]?.environment;
    if (!environment) throw new Error(`docker-compose.yml has no environment for service "${app}"`);
    result[app] = Array.isArray(environment)
      ? Object.fromEntries(environment.map((entry) => entry.split(/=(.*)/s).slice(0, 2)))
      : Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value)]));
  }
  return result;
}

export interface LocalAddressing {
  /** gRPC port of each app on this machine. */
  ports: Record<App, number>;
  /** Replaces the compose hostnames `postgres` and `jaeger`: full URLs, or undefined to drop the variable. */
  databaseUrl: string | undefined;
  otlpEndpoint: string | undefined;
}

/**
 * Maps compose's container addressing onto one machine: every `<app>:<port>` becomes
 * `127.0.0.1:<local port>`, GRPC_PORT follows, and the database and OTLP endpoints are replaced.
 * Every other variable is kept exactly as compose sets it.
 */
export function localizeEnvironment(env: Record<string, string>, app: App, addressing: LocalAddressing): Record<string, string> {
  const local: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === 'GRPC_PORT') local[key] = String(addressing.ports[app]);
    else if (key === 'DATABASE_URL') {
      if (addressing.databaseUrl) local[key] = addressing.databaseUrl;
    } else if (key === 'OTEL_EXPORTER_OTLP_ENDPOINT') {
      if (addressing.otlpEndpoint) local[key] = addressing.otlpEndpoint;
    } else {
      local[key] = value.replace(/\b(registry|user|order|gateway):\d+\b/g, (_match, host: App) => `127.0.0.1:${addressing.ports[host]}`);
    }
  }
  return local;
}
