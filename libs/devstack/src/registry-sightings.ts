import { Metadata, credentials } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';

/** A SERVING instance as one registry's Resolve lists it. */
export interface SeenInstance {
  instanceId: string;
  address: string;
}

export interface RegistrySightingsOptions {
  /** The registries to ask, host:port each. */
  registries: string[];
  services: string[];
  /** REGISTRY_TOKEN, for registries whose reads need it. */
  token: string;
  /** Pause between rounds. Default 100. */
  intervalMs?: number;
}

export interface RegistrySightings {
  /** What each registry answered last, by service; an unreachable one keeps its last answer. */
  latest(registry: string): Record<string, SeenInstance[]>;
  /** When (Date.now()) `registry` first listed `instanceId`; undefined while it has not. */
  firstSeen(registry: string, instanceId: string): number | undefined;
  /** Stops asking; resolves once the round in progress is over. */
  stop(): Promise<void>;
}

/**
 * Asks several registries to Resolve the same services, round after round (every registry in one
 * round at once), and records when each instance first appears at each: how far apart replicas
 * are is the gap between those times.
 */
export function watchRegistrySightings(options: RegistrySightingsOptions): RegistrySightings {
  const intervalMs = options.intervalMs ?? 100;
  const clients = new Map(options.registries.map((address) => [address, new registryV1.RegistryServiceClient(address, credentials.createInsecure())]));
  const latest = new Map<string, Record<string, SeenInstance[]>>(options.registries.map((address) => [address, {}]));
  const firstSeen = new Map<string, Map<string, number>>(options.registries.map((address) => [address, new Map()]));
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${options.token}`);

  const resolve = (client: registryV1.RegistryServiceClient, serviceName: string) =>
    new Promise<SeenInstance[]>((done, fail) =>
      client.resolve({ serviceName }, metadata, { deadline: Date.now() + 5000 }, (error, response) =>
        error
          ? fail(error)
          : done(response.instances.filter((i) => i.state === registryV1.InstanceState.INSTANCE_STATE_SERVING).map((i) => ({ instanceId: i.instanceId, address: i.address }))),
      ),
    );
  const ask = async (address: string) => {
    const client = clients.get(address)!;
    try {
      const answers = await Promise.all(options.services.map((service) => resolve(client, service)));
      const at = Date.now();
      const view = Object.fromEntries(options.services.map((service, i) => [service, answers[i]]));
      latest.set(address, view);
      for (const instance of answers.flat()) if (!firstSeen.get(address)!.has(instance.instanceId)) firstSeen.get(address)!.set(instance.instanceId, at);
    } catch {
      // A registry that is down (or killed by the test) simply stops adding sightings.
    }
  };

  let running = true;
  const rounds = (async () => {
    while (running) {
      await Promise.all(options.registries.map(ask));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();

  return {
    latest: (registry) => latest.get(registry) ?? {},
    firstSeen: (registry, instanceId) => firstSeen.get(registry)?.get(instanceId),
    async stop() {
      running = false;
      await rounds;
      for (const client of clients.values()) client.close();
    },
  };
}
