// `npm start`: builds are done by then; runs registry, user, order and gateway as local processes
// with the environment docker-compose.yml sets (SQLite under ./data instead of PostgreSQL unless
// DATABASE_URL is set; traces exported only if OTEL_EXPORTER_OTLP_ENDPOINT is set). Ctrl-C stops
// all, in order: the apps run in process groups of their own, so the terminal's SIGINT reaches
// only this runner, which stops the gateway first and the registry last (each app deregisters
// while the registry is still there).
import { resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import { LocalStack } from './local-stack';

const COLORS: Record<string, string> = { registry: '35', user: '36', order: '33', gateway: '32' };
const workspaceRoot = resolve(__dirname, '../../..');

async function main() {
  const useColor = process.stdout.isTTY;
  const label = (app: string) => (useColor ? `\x1b[${COLORS[app]}m${app.padEnd(8)}\x1b[0m` : app.padEnd(8));
  process.stdout.write('starting registry, user, order, gateway ...\n');
  const stack = await LocalStack.start({
    workspaceRoot,
    ports: DEFAULT_PORTS,
    dataDir: process.env.DATA_DIR ?? resolve(workspaceRoot, 'data'),
    databaseUrl: process.env.DATABASE_URL,
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
    extraEnv: { LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    onLine: (app, line) => process.stdout.write(`${label(app)} | ${line}\n`),
    ownProcessGroups: true,
  });
  // Apps in their own groups outlive a runner that dies of an error: take them down with it.
  process.on('exit', () => {
    for (const app of stack.processes) if (app.running) app.child.kill('SIGKILL');
  });
  process.stdout.write(
    [
      '',
      'Switchyard is up:',
      ...(['gateway', 'registry', 'user', 'order'] as const).map((app) => `  ${app.padEnd(8)} ${stack.address(app)}`),
      '',
      'Try:  grpcurl -plaintext 127.0.0.1:50050 list',
      'Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping ...\n');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // An app that dies on its own takes the rest down: a half-running system only confuses.
  for (const app of stack.processes) {
    void app.exited.then(({ code, signal }) => {
      if (stopping) return;
      process.stderr.write(`${app.options.app} exited (code ${code}, signal ${signal}); stopping the rest\n`);
      stop();
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
