// `npm start`: the build is done by then (the prestart script); runs registry, user, order and
// gateway as local processes with the environment docker-compose.yml sets, under the caller's
// own variables (see STACK_OWNED_VARIABLES for the few the runner sets itself). SQLite under
// ./data instead of PostgreSQL unless DATABASE_URL is set; traces exported only if
// OTEL_EXPORTER_OTLP_ENDPOINT is set. Apps name each other 127.0.0.1 here, not by their compose
// service names as in the e2e tests: this runs on the host, where those names do not resolve,
// and the addresses the registry hands out must work for grpcurl on the host too.
//
// The apps run in process groups of their own, so a terminal's Ctrl-C reaches only this runner,
// which stops the gateway first and the registry last (each app deregisters while the registry
// is still there). An app that dies is restarted; one that loses this runner stops on its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import { LocalStack, StackStoppedError } from './local-stack';
import { superviseRestarts } from './restart-supervisor';
import { onStopSignal } from './stop-signals';

const COLORS: Record<string, string> = { registry: '35', user: '36', order: '33', gateway: '32' };
const workspaceRoot = resolve(__dirname, '../../..');

async function main() {
  const useColor = process.stdout.isTTY;
  const label = (app: string) => (useColor ? `\x1b[${COLORS[app]}m${app.padEnd(8)}\x1b[0m` : app.padEnd(8));
  const print = (app: string, line: string) => process.stdout.write(`${label(app)} | ${line}\n`);
  const dataDir = resolve(workspaceRoot, process.env.DATA_DIR ?? 'data');
  const stack = await LocalStack.prepare({
    workspaceRoot,
    ports: DEFAULT_PORTS,
    // The gateway's default HTTP_PORT.
    httpPort: 8080,
    // The registry's dashboard.
    dashboardPort: 8051,
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
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

  process.stdout.write('starting registry, user, order, gateway ...\n');
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
      ...(['gateway', 'registry', 'user', 'order'] as const).map((app) => `  ${app.padEnd(8)} ${stack.address(app)}`),
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
