// `npm start`: the build is done by then (the prestart script); runs registry, user, order and
// gateway as local processes with the environment docker-compose.yml sets, under the caller's
// own variables (see STACK_OWNED_VARIABLES for the few the runner sets itself). SQLite under
// ./data instead of PostgreSQL unless DATABASE_URL is set; events off unless EVENTS_URL is set;
// traces exported only if OTEL_EXPORTER_OTLP_ENDPOINT is set. Apps name each other 127.0.0.1 here, not by their compose
// service names as in the e2e tests: this runs on the host, where those names do not resolve,
// and the addresses the registry hands out must work for grpcurl on the host too.
//
// `npm start -- --replicas user=2,order=2` (or npm_config_replicas, see replicas-option.ts) runs
// more instances of user and order: the first keeps the usual port, so the README's grpcurl
// lines work; the others take free ports and share DATA_DIR, so each app's replicas share one
// SQLite file (WAL mode), as they would share PostgreSQL.
//
// The apps run in process groups of their own, so a terminal's Ctrl-C reaches only this runner,
// which stops the gateway first and the registry last (each app deregisters while the registry
// is still there). An app that dies is restarted; one that loses this runner stops on its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import type { App } from './compose-environment';
import { LocalStack, StackStoppedError } from './local-stack';
import { replicasFromCommandLine, ReplicasOptionError } from './replicas-option';
import { superviseRestarts } from './restart-supervisor';
import { onStopSignal } from './stop-signals';

const COLORS: Record<string, string> = { registry: '35', user: '36', order: '33', gateway: '32' };
const workspaceRoot = resolve(__dirname, '../../..');

async function main() {
  const useColor = process.stdout.isTTY;
  // `user-2` is user's second replica, in user's color.
  const label = (name: string) => (useColor ? `\x1b[${COLORS[name.split('-')[0]]}m${name.padEnd(8)}\x1b[0m` : name.padEnd(8));
  const print = (name: string, line: string) => process.stdout.write(`${label(name)} | ${line}\n`);
  let replicas: Partial<Record<App, number>>;
  try {
    replicas = replicasFromCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ReplicasOptionError)) throw error;
    process.stderr.write(`npm start: ${error.message}\n`);
    process.exit(2);
  }
  const dataDir = resolve(workspaceRoot, process.env.DATA_DIR ?? 'data');
  const stack = await LocalStack.prepare({
    workspaceRoot,
    ports: DEFAULT_PORTS,
    replicas,
    // The gateway's default HTTP_PORT.
    httpPort: 8080,
    // The registry's dashboard.
    dashboardPort: 8051,
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
    eventsUrl: process.env.EVENTS_URL,
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
    extraEnv: { LOG_FORMAT: 'pretty' },
    callerEnv: process.env,
    onLine: print,
    ownProcessGroups: true,
    hostNames: 'loopback',
  });
  onStopSignal((signal) => {
    process.stdout.write(`\n${signal}: stopping gateway, order, user, registry ...\n`);
    void stack.stop().then(() => process.exit(0));
  });

  const counted = (app: App) => (stack.replicaPorts[app].length > 1 ? `${app} x${stack.replicaPorts[app].length}` : app);
  process.stdout.write(`starting ${(['registry', 'user', 'order', 'gateway'] as const).map(counted).join(', ')} ...\n`);
  try {
    await stack.startAll();
  } catch (error) {
    // A stop signal during the start: the stop handler above finishes the job and exits.
    if (error instanceof StackStoppedError) return;
    await stack.stop();
    throw error;
  }
  superviseRestarts(stack, (app, message) => print(app, `[npm start] ${message}`));
  // This run's registry token (new each run unless REGISTRY_TOKEN is set), for grpcurl on the registry.
  mkdirSync(dataDir, { recursive: true });
  const tokenFile = join(dataDir, 'registry-token');
  writeFileSync(tokenFile, `${stack.registryToken}\n`, { mode: 0o600 });
  process.stdout.write(
    [
      '',
      'Switchyard is up:',
      ...(['gateway', 'registry', 'user', 'order'] as const).flatMap((app) =>
        stack.replicaPorts[app].map((port) => `  ${stack.instanceName(app, port).padEnd(8)} 127.0.0.1:${port}`),
      ),
      `  HTTP     http://127.0.0.1:${stack.httpPort} (the gateway's HTTP/JSON face)`,
      `  Registry http://127.0.0.1:${stack.dashboardPort}/ (the registry's dashboard; sign in with the token in ${tokenFile})`,
      '',
      `Try:  grpcurl -plaintext ${stack.address('gateway')} list`,
      `      curl -s http://127.0.0.1:${stack.httpPort}/openapi.json`,
      `      grpcurl -plaintext -H "authorization: Bearer $(cat ${tokenFile})" -d '{"service_name":"user"}' ${stack.address('registry')} switchyard.registry.v1.RegistryService/Resolve`,
      'Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
