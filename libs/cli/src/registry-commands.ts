import { Metadata, status as Status, type ClientReadableStream } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { createRegistryClient, registryMetadata } from '@switchyard/runtime';
import { CallError, describeCallError } from './cli-errors';
import type { CliOptions } from './cli-options';
import { textTable } from './text-table';

type RegistryClient = registryV1.RegistryServiceClient;
type Output = (text: string) => void;

/** Failures worth trying the next registry for; any other answer is the fleet's answer. */
const TRY_NEXT = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]);

/** Runs `call` against each registry in order until one answers. */
async function withRegistry<T>(options: CliOptions, what: string, call: (client: RegistryClient, metadata: Metadata) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const address of options.registries) {
    const client = createRegistryClient(address, options.credentials);
    try {
      return await call(client, registryMetadata(options.token));
    } catch (error) {
      lastError = error;
      if (!TRY_NEXT.has((error as { code?: number }).code as Status)) break;
    } finally {
      client.close();
    }
  }
  throw new CallError(describeCallError(lastError, `${what} (registry ${options.registries.join(',')})`, { registry: true }));
}

function unary<Req, Res>(
  client: RegistryClient,
  method: (request: Req, metadata: Metadata, options: { deadline: number }, done: (error: Error | null, response: Res) => void) => unknown,
  request: Req,
  metadata: Metadata,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export async function listServices(options: CliOptions, out: Output): Promise<void> {
  const response = await withRegistry(options, 'ListServices', (client, metadata) =>
    unary(client, client.listServices, {}, metadata, options.timeoutMs),
  );
  const services = response.services.map((s) => ({ service: s.serviceName, instances: s.instanceCount }));
  if (options.json) return out(JSON.stringify({ services }) + '\n');
  out(textTable(['SERVICE', 'INSTANCES'], services.map((s) => [s.service, String(s.instances)])));
}

const STATE_NAMES: Record<number, string> = {
  [registryV1.InstanceState.INSTANCE_STATE_SERVING]: 'SERVING',
  [registryV1.InstanceState.INSTANCE_STATE_DRAINING]: 'DRAINING',
};

function instanceJson(instance: registryV1.Instance, now: number) {
  return {
    id: instance.instanceId,
    service: instance.serviceName,
    address: instance.address,
    version: instance.version,
    state: STATE_NAMES[instance.state] ?? 'UNSPECIFIED',
    zone: instance.zone,
    metadata: instance.metadata,
    registerTime: instance.registerTime?.toISOString() ?? null,
    leaseExpireTime: instance.leaseExpireTime?.toISOString() ?? null,
    leaseExpiresInSeconds: instance.leaseExpireTime ? Math.round((instance.leaseExpireTime.getTime() - now) / 100) / 10 : null,
  };
}

const INSTANCE_HEADER = ['ID', 'ADDRESS', 'VERSION', 'STATE', 'ZONE', 'REGISTERED', 'LEASE EXPIRES'];

function instanceRow(instance: ReturnType<typeof instanceJson>, now: number): string[] {
  const age = instance.registerTime ? `${Math.max(0, Math.round((now - Date.parse(instance.registerTime)) / 1000))}s ago` : '-';
  const lease = instance.leaseExpiresInSeconds === null ? '-' : `in ${instance.leaseExpiresInSeconds.toFixed(1)}s`;
  return [instance.id, instance.address, instance.version || '-', instance.state, instance.zone || '-', age, lease];
}

export async function listInstances(options: CliOptions, serviceName: string, out: Output): Promise<void> {
  const response = await withRegistry(options, `Resolve ${serviceName}`, (client, metadata) =>
    unary(client, client.resolve, { serviceName }, metadata, options.timeoutMs),
  );
  const now = Date.now();
  const instances = response.instances.map((instance) => instanceJson(instance, now));
  if (options.json) return out(JSON.stringify({ service: serviceName, instances }) + '\n');
  if (instances.length === 0) return out(`no instances of ${serviceName}\n`);
  out(textTable(INSTANCE_HEADER, instances.map((instance) => instanceRow(instance, now))));
}

const EVENT_NAMES: Record<number, string> = {
  [registryV1.WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT]: 'SNAPSHOT',
  [registryV1.WatchEventType.WATCH_EVENT_TYPE_UPSERT]: 'UPSERT',
  [registryV1.WatchEventType.WATCH_EVENT_TYPE_REMOVE]: 'REMOVE',
};

/**
 * Prints the snapshot and each change until `stop` resolves (Ctrl-C) or the stream fails. The
 * first registry that sends the snapshot is watched; the others are tried only before that.
 */
export async function watchService(options: CliOptions, serviceName: string, out: Output, stop: Promise<void>): Promise<void> {
  let stopped = false;
  let current: ClientReadableStream<registryV1.WatchResponse> | undefined;
  void stop.then(() => {
    stopped = true;
    current?.cancel();
  });
  await withRegistry(options, `Watch ${serviceName}`, (client, metadata) => {
    return new Promise<void>((resolve, reject) => {
      if (stopped) return resolve();
      const stream = client.watch({ serviceName }, metadata);
      current = stream;
      stream.on('data', (event: registryV1.WatchResponse) => {
        const now = Date.now();
        const type = EVENT_NAMES[event.type] ?? 'UNSPECIFIED';
        const instances = event.instances.map((instance) => instanceJson(instance, now));
        if (options.json) return out(JSON.stringify({ type, service: serviceName, instances }) + '\n');
        out(`${new Date(now).toISOString()} ${type} ${serviceName}: ${instances.length} instance(s)\n`);
        if (instances.length > 0) out(textTable(INSTANCE_HEADER, instances.map((instance) => instanceRow(instance, now))));
      });
      stream.on('error', (error: { code?: number }) => (stopped && error.code === Status.CANCELLED ? resolve() : reject(error)));
      stream.on('end', () => (stopped ? resolve() : reject(Object.assign(new Error('the registry ended the watch'), { code: Status.UNAVAILABLE }))));
    });
  });
}
