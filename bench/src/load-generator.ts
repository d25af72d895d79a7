// The load generator, in its own process (never on a server's event loop):
// `node dist/bench/load-generator.js '<json LoadPlan>'`. Waits until the target answers, warms up,
// then runs the measured window, telling the harness over IPC when the window starts, how it is
// going, and what it measured.
import type { GeneratorToHarness, LoadPlan } from './bench-messages';
import type { UserCaller } from './clients/user-caller';
import type { SendCall } from './load-loop';

const READY_TIMEOUT_MS = 20_000;

function tell(message: GeneratorToHarness): void {
  process.send?.(message);
}

/** Imported on demand, so the baseline client process loads no Switchyard code. */
async function createCaller(plan: LoadPlan): Promise<UserCaller> {
  switch (plan.client.kind) {
    case 'h2load':
      throw new Error('h2load is not a Node client');
    case 'baseline-user':
      return (await import('./clients/baseline-user-caller')).createBaselineUserCaller(plan.client.target);
    case 'switchyard-user':
      return (await import('./clients/switchyard-user-caller')).createSwitchyardUserCaller(plan.client.target);
    case 'switchyard-app':
      return (await import('./clients/switchyard-app-caller')).createSwitchyardAppCaller(plan.client);
    case 'http-app':
      return (await import('./clients/http-app-caller')).createHttpAppCaller(plan.client);
    case 'peer':
      return (await import('./clients/create-peer-caller')).createPeerCaller(plan.client);
  }
}

/** Calls until one succeeds: the server is up and, through the registry, resolvable. */
async function waitUntilAnswering(send: SendCall): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await send(0);
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`target not answering after ${READY_TIMEOUT_MS} ms: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  if (plan.client.kind === 'h2load') {
    await (await import('./h2load-window')).runH2loadWindow(plan, tell);
    process.disconnect?.();
    return;
  }
  const caller = await createCaller(plan);
  // Loaded after the caller: the load loop requires grpc-js, and a client whose tracing patches
  // grpc-js on require (Nest's, through the OpenTelemetry instrumentation) must start first.
  const { runLoadWindow } = await import('./load-loop');
  const ids = plan.userIds;
  const send: SendCall = (sequence) => caller.getUser({ id: ids[sequence % ids.length] });
  await waitUntilAnswering(send);
  tell({ type: 'ready' });
  if (plan.warmupMs > 0) await runLoadWindow(send, plan.mode, { durationMs: plan.warmupMs });
  tell({ type: 'window-start' });
  const result = await runLoadWindow(send, plan.mode, {
    durationMs: plan.durationMs,
    onProgress: (progress) => tell({ type: 'progress', ...progress }),
  });
  tell({ type: 'window-end', result });
  await caller.close();
  tell({ type: 'stopped', spans: caller.spanReport?.() });
  process.disconnect?.();
}

main().catch((error: unknown) => {
  tell({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
