import { status as Status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import type { Logger } from 'pino';
import { callUnary } from '../client/call-unary';
import { reconnectDelayMs, type BackoffOptions } from './reconnect-backoff';
import { createRegistryClient, registryMetadata } from './registry-client';
import { isRegistryUnreachable, RegistryEndpoints } from './registry-endpoints';

export interface RegistrationOptions {
  /**
   * The registries (host:port or explicit targets), in order of preference. When the one in use is
   * unreachable, the next takes over: a heartbeat there first, a new Register only if it answers
   * NOT_FOUND.
   */
  registryAddresses: readonly string[];
  serviceName: string;
  /** What other apps dial to reach this instance, host:port. */
  address: string;
  version: string;
  metadata?: Record<string, string>;
  zone?: string;
  /** The registry token, sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Credentials of the registry client it makes itself. Default: plaintext. */
  credentials?: ChannelCredentials;
  logger: Logger;
  /** Makes the registry client of one address. Default: one of its own per address, closed by stop(). */
  connect?: (address: string) => registryV1.RegistryServiceClient;
  /** Deadline of each Register and Heartbeat, in ms. Default 2000. */
  callTimeoutMs?: number;
  /** Pause between attempts while the registry is unreachable. Default 200 ms doubling to 2000 ms (one heartbeat interval), jittered. */
  retryBackoff?: BackoffOptions;
  /** Bound on stop(), which deregisters, in ms. Default 2000. */
  stopTimeoutMs?: number;
}

export interface Registration {
  /** The id the registry gave this instance; undefined while not registered. */
  instanceId(): string | undefined;
  /** Settles at the first successful Register; rejects if stop() comes first. */
  readonly registered: Promise<void>;
  /** The registry in use now (the one the last heartbeat went to, or the next will). */
  registryAddress(): string;
  /** Sets the state (e.g. DRAINING before shutdown); resolves once the registry was told, or the attempt failed. */
  setState(state: registryV1.InstanceState): Promise<void>;
  /** Stops heartbeating and deregisters (within stopTimeoutMs). Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;
// Capped at one default heartbeat interval: after a registry outage of any length, every
// instance is registered again within two intervals of the registry's return.
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 2000 };
// While an earlier lease holds our address (this instance before a crash), ask often: the
// address is unregistered from the old lease's expiry until our next attempt.
const ADDRESS_HELD_RETRY_MS = 250;
// At most this long of stop() goes to the other registries when the one in use cannot deregister.
const OTHERS_DEREGISTER_MS = 1000;

function durationMs(duration: { seconds: number; nanos: number } | undefined): number | undefined {
  if (!duration) return undefined;
  const ms = duration.seconds * 1000 + Math.floor(duration.nanos / 1_000_000);
  return ms > 0 ? ms : undefined;
}

function codeOf(error: unknown): number | undefined {
  return typeof (error as Partial<ServiceError>)?.code === 'number' ? (error as ServiceError).code : undefined;
}

/**
 * Keeps this instance registered: registers (retrying with backoff while the registry is down, so
 * start order does not matter), heartbeats at the interval the registry asks for, registers again
 * at once when a heartbeat answers NOT_FOUND (the registry restarted empty, or the lease lapsed),
 * presenting its lease secret so that it takes its own address back,
 * and deregisters on stop().
 */
export function startRegistration(options: RegistrationOptions): Registration {
  const { logger } = options;
  const callTimeoutMs = options.callTimeoutMs ?? 2000;
  const backoff = options.retryBackoff ?? DEFAULT_BACKOFF;
  const log = logger.child({ service_name: options.serviceName, address: options.address });
  const registries = new RegistryEndpoints({
    addresses: options.registryAddresses,
    connect: options.connect ?? ((address) => createRegistryClient(address, options.credentials)),
    ownsClients: options.connect === undefined,
    logger: log,
  });
  const inFlight = new AbortController();

  let instanceId: string | undefined;
  // Proves this lease is ours to Heartbeat and Deregister, and lets a later Register take our
  // address back at once. Never logged.
  let leaseSecret = '';
  let desiredState = registryV1.InstanceState.INSTANCE_STATE_SERVING;
  let heartbeatMs = DEFAULT_HEARTBEAT_INTERVAL_MS;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  // A Register is on its way: the registry may hold a lease for it before its answer arrives.
  let registering = false;

  let markRegistered!: () => void;
  let abandon!: (error: Error) => void;
  const registered = new Promise<void>((resolve, reject) => {
    markRegistered = resolve;
    abandon = reject;
  });
  registered.catch(() => undefined); // a caller who never awaits it must not see an unhandled rejection

  const deadline = () => new Date(Date.now() + callTimeoutMs);
  const metadata = () => registryMetadata(options.token);

  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void runStep(), delayMs);
    timer.unref();
  };

  // One outage, one warning: the first failure is logged at warn (error for a rejected token),
  // the retries that follow at debug, and the recovery at info.
  // With several registries, an unreachable one is left for the next (RegistryEndpoints logs the move).
  const noteFailure = (action: string, error: unknown, registryAddress: string) => {
    failures += 1;
    const fields = { err: error, attempt: failures, registry_address: registryAddress };
    const code = codeOf(error);
    if (isRegistryUnreachable(error) && registries.moveOn(registryAddress, action, error)) return;
    if (failures > 1) log.debug(fields, `${action} failed again; still retrying`);
    else if (code === Status.UNAUTHENTICATED || code === Status.PERMISSION_DENIED) {
      log.error(fields, `the registry refused the ${action}: check REGISTRY_TOKEN (a token for ${options.serviceName}); retrying`);
    } else if (code === Status.ALREADY_EXISTS) {
      log.warn(fields, `another live lease holds ${options.address} (an earlier run of this instance, or an impostor); retrying until it expires`);
    } else log.warn(fields, `cannot reach the registry at ${registryAddress} (${action}); retrying with backoff`);
  };

  const register = async () => {
    const registryAddress = registries.address;
    const client = registries.client;
    registering = true;
    try {
      const response = await callUnary(
        client.register.bind(client),
        {
          serviceName: options.serviceName,
          address: options.address,
          version: options.version,
          metadata: options.metadata ?? {},
          zone: options.zone ?? '',
          state: desiredState,
          leaseSecret,
        },
        { metadata: metadata(), deadline: deadline(), signal: inFlight.signal },
      );
      instanceId = response.instance?.instanceId;
      leaseSecret = response.leaseSecret;
      heartbeatMs = durationMs(response.heartbeatInterval) ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
      log.info({ instance_id: instanceId, registry_address: registryAddress, heartbeat_interval_ms: heartbeatMs, after_failures: failures }, 'registered with the registry');
      failures = 0;
      registries.settled();
      markRegistered();
      schedule(heartbeatMs);
    } catch (error) {
      if (stopped) return;
      noteFailure('register', error, registryAddress);
      const delay = reconnectDelayMs(failures, backoff);
      schedule(codeOf(error) === Status.ALREADY_EXISTS ? Math.min(delay, ADDRESS_HELD_RETRY_MS) : delay);
    } finally {
      registering = false;
    }
  };

  const heartbeat = async (id: string) => {
    const registryAddress = registries.address;
    const client = registries.client;
    try {
      await callUnary(
        client.heartbeat.bind(client),
        { instanceId: id, state: desiredState, leaseSecret },
        { metadata: metadata(), deadline: deadline(), signal: inFlight.signal },
      );
      if (failures > 0) log.info({ instance_id: id, registry_address: registryAddress, after_failures: failures }, 'registry reachable again; lease renewed');
      failures = 0;
      registries.settled();
      schedule(heartbeatMs);
    } catch (error) {
      if (stopped) return;
      if (codeOf(error) === Status.NOT_FOUND) {
        log.warn(
          { instance_id: id, registry_address: registryAddress },
          `the registry at ${registryAddress} does not know this instance (it restarted, the lease lapsed, or it keeps its own store); registering again`,
        );
        instanceId = undefined;
        failures = 0;
        return register();
      }
      noteFailure('heartbeat', error, registryAddress);
      // The lease outlives three beats: retry sooner than the interval, never later. After a move
      // the next beat goes to the next registry, with the same id and secret: over a shared store
      // the lease is still there.
      schedule(Math.min(heartbeatMs, reconnectDelayMs(failures, backoff)));
    }
  };

  // Steps run one at a time: a setState() during a heartbeat waits for it.
  const runStep = (): Promise<void> => {
    queue = queue.then(async () => {
      if (stopped) return;
      clearTimeout(timer);
      if (instanceId === undefined) await register();
      else await heartbeat(instanceId);
    });
    return queue;
  };

  void runStep();

  // The registry in use first; if it fails, the others at once, in the last share of the time
  // (over a shared store any of them can end the lease; with stores of their own, NOT_FOUND).
  const deregister = async (id: string, endsAt: number) => {
    const othersShareMs = registries.count > 1 ? Math.min(OTHERS_DEREGISTER_MS, Math.max(0, endsAt - Date.now()) / 3) : 0;
    const call = (address: string, client: registryV1.RegistryServiceClient, deadlineAt: number) =>
      callUnary(client.deregister.bind(client), { instanceId: id, leaseSecret }, { metadata: metadata(), deadline: new Date(deadlineAt) }).then(() => address);
    try {
      const address = await call(registries.address, registries.client, endsAt - othersShareMs);
      log.info({ instance_id: id, registry_address: address }, 'deregistered from the registry');
      return;
    } catch (error) {
      if (registries.count === 1) {
        log.warn({ err: error, instance_id: id, registry_address: registries.address }, 'deregister failed; the registry drops this instance when its lease expires');
        return;
      }
      log.debug({ err: error, instance_id: id, registry_address: registries.address }, 'deregister failed; trying the other registries');
    }
    const deadlineAt = Math.min(endsAt, Date.now() + OTHERS_DEREGISTER_MS);
    try {
      const address = await Promise.any(registries.others().map(({ address, client }) => call(address, client, deadlineAt)));
      log.info({ instance_id: id, registry_address: address }, 'deregistered from the registry');
    } catch (error) {
      const errors = (error as AggregateError).errors ?? [error];
      log.warn({ err: errors[0], instance_id: id }, 'deregister failed at every registry; they drop this instance when its lease expires');
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const stopTimeoutMs = options.stopTimeoutMs ?? 2000;
      const endsAt = Date.now() + stopTimeoutMs;
      stopped = true;
      clearTimeout(timer);
      // A Register in flight may already have a lease at the registry: give its answer half the
      // stop's time to arrive, so the lease is withdrawn now rather than left to expire.
      if (registering) await settledWithin(queue, stopTimeoutMs / 2);
      inFlight.abort();
      abandon(new Error('registration stopped before the registry accepted it'));
      await queue;
      const id = instanceId;
      instanceId = undefined;
      if (id !== undefined) await deregister(id, endsAt);
      registries.close();
    })();
    return stopping;
  };

  return {
    instanceId: () => instanceId,
    registryAddress: () => registries.address,
    registered,
    setState(state) {
      desiredState = state;
      return runStep();
    },
    stop,
  };
}

/** Resolves when `work` settles or after `ms`, whichever comes first. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(noop, noop), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function noop(): void {}
