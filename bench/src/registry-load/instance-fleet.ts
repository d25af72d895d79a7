// Simulated instances of many services, in their own process (never on the registry's event
// loop): `node dist/bench/registry-load/instance-fleet.js '<json FleetSpec>'`. Registers them all, then
// heartbeats each once per heartbeat interval (the one Register answers with), spread evenly:
// an open loop at instances / interval heartbeats per second, each latency counted from the
// time the heartbeat was due. The harness asks for measured windows, optionally under another
// load (a closed loop, to find how many heartbeats per second the registry answers at most).
// Register goes through grpc-js; the heartbeats, the measured hot path, through a lean http2
// gRPC client (http2-heartbeats.ts) so that one load-generator core can keep up.
import { status as Status } from '@grpc/grpc-js';
import type { LoadMode } from '../bench-messages';
import { runLoadWindow, type SendCall } from '../load-loop';
import { GcPauseMeter } from './gc-pause-meter';
import { Http2Heartbeats } from './http2-heartbeats';
import { connectRegistryClients, durationToMs, RegistryCalls, simulatedAddress } from './registry-connections';
import type { FleetSpec, FleetToHarness, HarnessToFleet } from './registry-messages';

/** Instances registered, heartbeated and deregistered before anything is measured (lazy code paths, connections). */
const WARM_UP_INSTANCES = 50;
/** Between measured windows the heartbeats go on in short unmeasured windows, so a window starts soon after it is asked for. */
const KEEP_ALIVE_WINDOW_MS = 250;
const MAX_IN_FLIGHT = 1000;
const REGISTER_ATTEMPTS = 3;
/** A registered instance: its id, and its heartbeat as sent (id and lease secret, encoded once per lease). */
interface Lease {
  instanceId: string;
  heartbeat: Buffer;
}

function tell(message: FleetToHarness): void {
  process.send?.(message);
}

function nextCommand<T extends HarnessToFleet['type']>(type: T): Promise<Extract<HarnessToFleet, { type: T }>> {
  return new Promise((resolve) => {
    const listener = (message: HarnessToFleet) => {
      if (message.type !== type) return;
      process.off('message', listener);
      resolve(message as Extract<HarnessToFleet, { type: T }>);
    };
    process.on('message', listener);
  });
}

async function warmUp(calls: RegistryCalls[]): Promise<void> {
  await Promise.all(
    Array.from({ length: WARM_UP_INSTANCES }, async (_, n) => {
      const connection = calls[n % calls.length];
      const { instance, leaseSecret } = await connection.register({ serviceName: 'fleet-warm-up', address: simulatedAddress(250, n) });
      await connection.heartbeat(instance!.instanceId, leaseSecret);
      await connection.deregister(instance!.instanceId, leaseSecret);
    }),
  );
}

/** Registers instance `n` (a few attempts); its lease goes into `leases[n]`, and the heartbeat interval it was asked for is returned. */
async function register(spec: FleetSpec, calls: RegistryCalls[], leases: Array<Lease | undefined>, n: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await calls[n % calls.length].register({ serviceName: `fleet-${n % spec.services}`, address: simulatedAddress(1, n) });
      const instanceId = response.instance!.instanceId;
      leases[n] = { instanceId, heartbeat: Http2Heartbeats.frame(instanceId, response.leaseSecret) };
      return durationToMs(response.heartbeatInterval);
    } catch (error) {
      if (attempt === REGISTER_ATTEMPTS) throw error;
    }
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FleetSpec;
  const calls = connectRegistryClients(spec.target, spec.connections).map((client) => new RegistryCalls(client, spec.token));
  await warmUp(calls);
  tell({ type: 'warmed' });
  await nextCommand('register');
  const started = performance.now();
  const leases = new Array<Lease | undefined>(spec.instances);
  const heartbeatIntervalMs = await register(spec, calls, leases, 0);

  // Heartbeat k goes to instance k mod N, so every instance beats once per interval. They start
  // while the rest register, as real instances would: a fleet of 10,000 takes longer to register
  // than a lease lives. An instance not registered yet skips its turn.
  const beaters = Array.from({ length: spec.connections }, () => new Http2Heartbeats(spec.target, spec.token));
  let cursor = 0;
  // A NOT_FOUND (the lease lapsed) counts as an error, and the instance registers again, as the
  // runtime's registration does; it skips its turns until then.
  const heartbeat: SendCall = async () => {
    const n = cursor++ % leases.length;
    const lease = leases[n];
    if (lease === undefined) return;
    try {
      await beaters[n % beaters.length].heartbeat(lease.heartbeat);
    } catch (error) {
      if ((error as { code?: number }).code === Status.NOT_FOUND && leases[n] === lease) {
        leases[n] = undefined;
        void register(spec, calls, leases, n).catch(() => undefined);
      }
      throw error;
    }
  };
  const everyInterval: LoadMode = { kind: 'open', ratePerSecond: (leases.length * 1000) / heartbeatIntervalMs, maxInFlight: MAX_IN_FLIGHT };
  const gcPauses = new GcPauseMeter();
  let asked: Extract<HarnessToFleet, { type: 'window' }> | undefined;
  let stopping = false;
  process.on('message', (message: HarnessToFleet) => {
    if (message.type === 'window') asked = message;
    else if (message.type === 'stop') stopping = true;
  });
  process.on('disconnect', () => (stopping = true));
  const pacing = (async () => {
    while (!stopping) {
      if (!asked) {
        await runLoadWindow(heartbeat, everyInterval, { durationMs: KEEP_ALIVE_WINDOW_MS });
        continue;
      }
      const { durationMs, mode = everyInterval } = asked;
      asked = undefined;
      tell({ type: 'window-start' });
      gcPauses.take();
      const result = await runLoadWindow(heartbeat, mode, { durationMs, onProgress: (progress) => tell({ type: 'progress', ...progress }) });
      tell({ type: 'window-end', result, mode, gc: gcPauses.take() });
    }
  })();

  let next = 1;
  await Promise.all(
    Array.from({ length: spec.registerConcurrency }, async () => {
      while (next < spec.instances) await register(spec, calls, leases, next++);
    }),
  );
  tell({ type: 'registered', elapsedMs: performance.now() - started, heartbeatIntervalMs });
  await pacing;
  for (const connection of calls) connection.close();
  for (const beater of beaters) beater.close();
  process.disconnect?.();
}

main().catch((error: unknown) => {
  tell({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
