import { join } from 'node:path';
import { composeNodeOptions } from '@switchyard/testing';
import type { StackLauncher } from './scenario';

/** No exporter (spans are made, sampled and dropped), 10% of traces sampled: the setting the targets are stated for. */
export const TRACING_10_PERCENT: Readonly<Record<string, string>> = {
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: '0.1',
};

/** What every Switchyard server child gets: local, logs at info as JSON (to /dev/null), no drain wait. */
export const SWITCHYARD_SERVER_ENV: Readonly<Record<string, string>> = {
  GRPC_HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  DRAIN_DELAY_MS: '0',
  SHUTDOWN_TIMEOUT_MS: '2000',
};

/** The built registry app in a server child, with `env` on top of the common settings; its address. */
export async function startRegistryChild(launcher: StackLauncher, env: Record<string, string>): Promise<string> {
  const port = await launcher.freePort();
  await launcher.startServer(
    'registry',
    { kind: 'app', main: join(launcher.workspaceRoot, 'dist', 'apps', 'registry', 'main.js'), port },
    { env: { ...SWITCHYARD_SERVER_ENV, ...composeNodeOptions(launcher.workspaceRoot, 'registry'), ...env, GRPC_PORT: String(port) } },
  );
  return `127.0.0.1:${port}`;
}
