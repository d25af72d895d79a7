// Watchers of one service, in their own process: `node dist/bench/registry-load/watch-probe.js '<json ProbeSpec>'`.
// Opens `watchers` Watch streams, each on its own connection, and once told to run, times two
// things on its own clock while the fleet heartbeats (unmeasured: the heartbeat window comes first):
// - propagation: Register of a new instance sent -> each watcher's UPSERT of it, round after round;
// - expiry: instances that heartbeat a few times and then stop; last heartbeat sent -> the REMOVE
//   of the last watcher to see it, to compare with the lease TTL plus one interval.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { connectRegistryClients, RegistryCalls, registryMetadata, simulatedAddress } from './registry-connections';
import type { HarnessToProbe, LatencySummary, ProbeSpec, ProbeToHarness } from './registry-messages';

const READY_TIMEOUT_MS = 20_000;
/** How long a round waits for the last watcher's UPSERT before counting it missing. */
const PROPAGATION_TIMEOUT_MS = 2000;
/** How long, beyond TTL + one interval, expiry waits for the last watcher's REMOVE. */
const EXPIRY_GRACE_MS = 5000;

const { WatchEventType } = registryV1;

function tell(message: ProbeToHarness): void {
  process.send?.(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every watcher has seen one event (keyed by address or instance id), noting when each did. */
class Sighting {
  readonly seenAt: Array<number | undefined>;
  private remaining: number;
  private settle!: () => void;
  readonly allSeen = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(watchers: number) {
    this.seenAt = new Array<number | undefined>(watchers);
    this.remaining = watchers;
  }

  see(watcher: number, at: number): void {
    if (this.seenAt[watcher] !== undefined) return;
    this.seenAt[watcher] = at;
    if (--this.remaining === 0) this.settle();
  }

  /** Resolves when all watchers saw it, or after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.allSeen, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  get missing(): number {
    return this.remaining;
  }
}

function summarize(samplesMs: number[], missing: number): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (percentile: number) => (sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)]);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { samples: sorted.length, missing, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(at(100)) };
}

/** The watch streams, and the events they are waiting for: UPSERTs by address, REMOVEs by instance id. */
class WatcherFleet {
  readonly upserts = new Map<string, Sighting>();
  readonly removes = new Map<string, Sighting>();
  private readonly streams: Array<ClientReadableStream<registryV1.WatchResponse>> = [];
  private stopping = false;

  constructor(private readonly spec: ProbeSpec) {}

  /** Opens every stream; resolves once each has had its snapshot. */
  open(onError: (error: Error) => void): Promise<void> {
    const clients = connectRegistryClients(this.spec.target, this.spec.watchers);
    const snapshots = clients.map(
      (client, watcher) =>
        new Promise<void>((resolve) => {
          // Reads need the token once the registry has one.
          const stream = client.watch({ serviceName: this.spec.service }, registryMetadata(this.spec.token));
          this.streams.push(stream);
          stream.on('data', (response: registryV1.WatchResponse) => {
            const now = performance.now();
            if (response.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT) resolve();
            for (const instance of response.instances) {
              if (response.type === WatchEventType.WATCH_EVENT_TYPE_UPSERT) this.upserts.get(instance.address)?.see(watcher, now);
              else if (response.type === WatchEventType.WATCH_EVENT_TYPE_REMOVE) this.removes.get(instance.instanceId)?.see(watcher, now);
            }
          });
          stream.on('error', (error: Error) => {
            if (!this.stopping) onError(error);
          });
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`watchers had no snapshot within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)));
    return Promise.race([Promise.all(snapshots).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }

  expect(table: Map<string, Sighting>, key: string): Sighting {
    const sighting = new Sighting(this.spec.watchers);
    table.set(key, sighting);
    return sighting;
  }

  close(): void {
    this.stopping = true;
    for (const stream of this.streams) stream.cancel();
  }
}

async function timePropagation(spec: ProbeSpec, fleet: WatcherFleet, calls: RegistryCalls): Promise<LatencySummary> {
  const samples: number[] = [];
  let missing = 0;
  for (let round = 0; round < spec.propagationRounds; round++) {
    const address = simulatedAddress(200, round);
    const sighting = fleet.expect(fleet.upserts, address);
    const sentAt = performance.now();
    const { instance, leaseSecret } = await calls.register({ serviceName: spec.service, address });
    await sighting.wait(PROPAGATION_TIMEOUT_MS);
    fleet.upserts.delete(address);
    for (const seenAt of sighting.seenAt) if (seenAt !== undefined) samples.push(seenAt - sentAt);
    missing += sighting.missing;
    await calls.deregister(instance!.instanceId, leaseSecret);
    await sleep(spec.roundGapMs);
  }
  return summarize(samples, missing);
}

async function timeExpiry(spec: ProbeSpec, fleet: WatcherFleet, calls: RegistryCalls): Promise<LatencySummary> {
  const registered = await Promise.all(
    Array.from({ length: spec.expiring }, (_, n) => calls.register({ serviceName: spec.service, address: simulatedAddress(201, n) })),
  );
  const ids = registered.map((response) => response.instance!.instanceId);
  const sightings = ids.map((id) => fleet.expect(fleet.removes, id));
  const lastBeatSentAt = ids.map(() => performance.now());
  for (let beat = 0; beat < spec.beatsBeforeStop; beat++) {
    await sleep(spec.heartbeatIntervalMs);
    await Promise.all(
      ids.map((id, n) => {
        lastBeatSentAt[n] = performance.now();
        return calls.heartbeat(id, registered[n].leaseSecret);
      }),
    );
  }
  // From here on nobody heartbeats them: each should be gone within TTL + one interval.
  const waitMs = spec.leaseTtlMs + spec.heartbeatIntervalMs + EXPIRY_GRACE_MS;
  await Promise.all(sightings.map((sighting) => sighting.wait(waitMs)));
  const samples: number[] = [];
  let missing = 0;
  sightings.forEach((sighting, n) => {
    if (sighting.missing > 0) missing += 1;
    else samples.push(Math.max(...(sighting.seenAt as number[])) - lastBeatSentAt[n]);
  });
  return summarize(samples, missing);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ProbeSpec;
  const fleet = new WatcherFleet(spec);
  await fleet.open((error) => {
    tell({ type: 'failed', message: `a watch stream failed: ${error.message}` });
    process.exit(1);
  });
  // Registering and heartbeating on a connection of its own, apart from the watchers'.
  const [client] = connectRegistryClients(spec.target, 1);
  const calls = new RegistryCalls(client, spec.token);
  process.on('message', (message: HarnessToProbe) => {
    if (message.type === 'run') {
      void Promise.all([timePropagation(spec, fleet, calls), timeExpiry(spec, fleet, calls)]).then(
        ([propagation, expiry]) => tell({ type: 'results', propagation, expiry }),
        (error: unknown) => tell({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
    } else {
      fleet.close();
      calls.close();
      process.disconnect?.();
    }
  });
  process.on('disconnect', () => process.exit(0));
  tell({ type: 'ready' });
}

main().catch((error: unknown) => {
  tell({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
