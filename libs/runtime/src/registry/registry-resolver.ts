import { experimental, status as Status, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import type { Logger } from 'pino';
import type { RoutingRule } from '../config/routing-rules-config';
import { channelScopedOption } from './channel-scoped-option';
import { instanceLabelsOption, type InstanceLabels } from './instance-labels';
import { DEFAULT_OUTLIER_EJECTION, OUTLIER_EJECTION_POLICY, registerOutlierEjectionPolicy } from './outlier-ejection-policy';
import { RegistryWatcher } from './registry-watcher';
import { staticRoutingRules, type RoutingRulesSource } from './routing-rules-source';
import { createSharedWatchers, type WatcherSource } from './shared-watchers';
import { registerVersionedRoutingPolicy, VERSIONED_ROUTING_POLICY } from './versioned-routing-policy';

type ResolverListener = experimental.ResolverListener;
type Endpoint = experimental.Endpoint;
type ServiceConfigResult = Parameters<ResolverListener>[2];
type ResolverConstructor = Parameters<typeof experimental.registerResolver>[1];

export const REGISTRY_SCHEME = 'registry';

export interface RegistryResolverOptions {
  /** The registries (host:port or explicit targets), in order; each watch moves to the next when one fails. */
  registryAddresses: readonly string[];
  /** The registry token, sent on every Watch (reads need one unless the registry has REGISTRY_READ_ACCESS=open). */
  token?: string;
  /** Credentials of the watchers' registry clients. Default: plaintext. */
  credentials?: ChannelCredentials;
  logger?: Logger;
  /** Where resolvers get their watches. Default: one RegistryWatcher per service name, shared by all channels. */
  watchers?: WatcherSource;
  /**
   * Canary and versioned routing by service (ROUTING_RULES, ROUTING_RULES_FILE); a change applies
   * to existing channels at once. Default: none, every SERVING instance alike.
   */
  routingRules?: RoutingRulesSource;
}

export interface RegistryResolverRegistration {
  /** Ends every watch this registration opened; channels still using it stop seeing changes. */
  close(): void;
}

// Without a service config grpc-js picks pick_first, which would send every call to one instance.
// Round robin runs under our outlier ejection (outlier-ejection-policy.ts): an instance failing 5
// calls in a row with UNAVAILABLE/INTERNAL/UNKNOWN/DATA_LOSS is ejected for 5 s, longer if it is
// sick again soon after, never more than half the instances at once. Answers such as NOT_FOUND
// do not count, unlike in grpc-js's own outlier_detection.
const OUTLIER_EJECTION_ROUND_ROBIN = { [OUTLIER_EJECTION_POLICY]: { ...DEFAULT_OUTLIER_EJECTION, child_policy: [{ round_robin: {} }] } };

// A service with a routing rule splits its instances by version (versioned-routing-policy.ts),
// each version balanced and ejected on its own.
function serviceConfigFor(rule: RoutingRule | undefined) {
  const policy = rule ? { [VERSIONED_ROUTING_POLICY]: { rule, child_policy: [OUTLIER_EJECTION_ROUND_ROBIN] } } : OUTLIER_EJECTION_ROUND_ROBIN;
  return { loadBalancingConfig: [policy], methodConfig: [] };
}

function toEndpoint(instance: registryV1.Instance): Endpoint[] {
  const hostPort = experimental.splitHostPort(instance.address);
  if (!hostPort || hostPort.port === undefined) return [];
  return [{ addresses: [{ host: hostPort.host, port: hostPort.port }] }];
}

/** Each endpoint's version and metadata by `host:port`, for the routing policy. */
function labelsOf(instances: registryV1.Instance[], endpoints: Endpoint[]): Map<string, InstanceLabels> {
  const labels = new Map<string, InstanceLabels>();
  instances.forEach((instance, i) => {
    const address = endpoints[i]?.addresses[0];
    if (address) labels.set(experimental.subchannelAddressToString(address), { version: instance.version, metadata: instance.metadata });
  });
  return labels;
}

/** Where one channel's resolver gets its watches and routing rules. */
interface RegistryResolution {
  watchers: WatcherSource;
  routingRules: RoutingRulesSource;
}

/** Each client factory's channels resolve through its own registries and rules, whatever another factory in the process was given. */
const registryResolutionOption = channelScopedOption<RegistryResolution>('registry_resolution', (value) => typeof value === 'object' && value !== null);

/**
 * The resolver class for `registry:///<service>` targets, fed by the resolution the channel's
 * options carry, else by `fallback`. Only SERVING instances become endpoints; with none, calls
 * fail fast with UNAVAILABLE saying so.
 */
function registryResolverClass(fallback: RegistryResolution | undefined): ResolverConstructor {
  return class RegistryResolver implements experimental.Resolver {
    private readonly serviceName: string;
    private readonly ownServiceConfig: boolean;
    private readonly resolution: RegistryResolution | undefined;
    private lease: ReturnType<WatcherSource['acquire']> | undefined;
    private unsubscribe: (() => void) | undefined;
    private unsubscribeRules: (() => void) | undefined;
    private pending: NodeJS.Immediate | undefined;

    constructor(
      target: experimental.GrpcUri,
      private readonly listener: ResolverListener,
      channelOptions: ChannelOptions,
    ) {
      this.serviceName = target.path.replace(/^\/+/, '');
      // A caller's own grpc.service_config wins (it should then name round_robin itself).
      this.ownServiceConfig = Boolean(channelOptions['grpc.service_config']);
      this.resolution = registryResolutionOption.of(channelOptions) ?? fallback;
    }

    private get serviceConfig(): ServiceConfigResult {
      if (this.ownServiceConfig || !this.resolution) return null;
      return experimental.statusOrFromValue(serviceConfigFor(this.resolution.routingRules.current()[this.serviceName]));
    }

    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return target.path.replace(/^\/+/, '');
    }

    updateResolution(): void {
      if (!this.lease && this.serviceName !== '' && this.resolution) {
        this.lease = this.resolution.watchers.acquire(this.serviceName);
        this.unsubscribe = this.lease.watch.subscribe(
          () => this.scheduleReport(),
          () => this.scheduleReport(),
        );
        this.unsubscribeRules = this.resolution.routingRules.subscribe(() => this.scheduleReport());
      }
      this.scheduleReport();
    }

    destroy(): void {
      if (this.pending) clearImmediate(this.pending);
      this.pending = undefined;
      this.unsubscribe?.();
      this.unsubscribeRules?.();
      this.lease?.release();
      this.unsubscribe = undefined;
      this.unsubscribeRules = undefined;
      this.lease = undefined;
    }

    // grpc-js forbids calling the listener synchronously from the constructor or updateResolution.
    private scheduleReport(): void {
      this.pending ??= setImmediate(() => {
        this.pending = undefined;
        this.report();
      });
    }

    private report(): void {
      if (this.serviceName === '') {
        this.fail(`invalid target: expected registry:///<service>, e.g. registry:///user`);
        return;
      }
      if (!this.resolution) {
        this.fail(`cannot resolve '${this.serviceName}': no registry to ask; call registerRegistryResolver at start-up, or make the client with createPeerClients`);
        return;
      }
      if (!this.lease) return;
      const watch = this.lease.watch;
      const instances = watch.instances();
      if (instances === undefined) {
        // Before the first snapshot: calls wait (they have deadlines) unless the registry is known to be down.
        const error = watch.error();
        if (error) this.fail(`cannot resolve '${this.serviceName}': the registry at ${watch.registryAddress} is unreachable (${error.message})`);
        return;
      }
      const serving = instances.filter((i) => i.state === registryV1.InstanceState.INSTANCE_STATE_SERVING && toEndpoint(i).length > 0);
      const endpoints = serving.flatMap(toEndpoint);
      // An empty list (not an error) so round_robin drops the endpoints it had; it fails calls
      // with UNAVAILABLE quoting this note.
      const note = endpoints.length > 0 ? '' : `no SERVING instances of '${this.serviceName}' in the registry at ${watch.registryAddress}`;
      this.listener(experimental.statusOrFromValue(endpoints), instanceLabelsOption.options(labelsOf(serving, endpoints)), this.serviceConfig, note);
    }

    private fail(details: string): void {
      this.listener(experimental.statusOrFromError({ code: Status.UNAVAILABLE, details }), {}, this.serviceConfig, details);
    }
  };
}

function registryResolution(options: RegistryResolverOptions): RegistryResolution {
  return {
    watchers:
      options.watchers ??
      createSharedWatchers(
        (serviceName) => new RegistryWatcher({ registryAddresses: options.registryAddresses, serviceName, token: options.token, credentials: options.credentials, logger: options.logger }),
      ),
    routingRules: options.routingRules ?? staticRoutingRules(),
  };
}

let schemeRegistered = false;

function registerScheme(fallback: RegistryResolution | undefined): void {
  registerOutlierEjectionPolicy();
  registerVersionedRoutingPolicy();
  experimental.registerResolver(REGISTRY_SCHEME, registryResolverClass(fallback));
  schemeRegistered = true;
}

/**
 * Makes grpc-js resolve `registry:///<service>` targets through the registry's Watch stream, with
 * round-robin over SERVING instances, split between their versions where `routingRules` has a
 * rule for the service. Call once at start-up, before creating clients; a later call
 * replaces the earlier one for channels created after it. Channels given the options of a
 * RegistryChannelResolution (as createPeerClients's are) resolve through theirs instead.
 * `dns:///host:port` and plain host:port targets keep working through grpc-js's own resolvers.
 */
export function registerRegistryResolver(options: RegistryResolverOptions): RegistryResolverRegistration {
  const resolution = registryResolution(options);
  registerScheme(resolution);
  return { close: () => resolution.watchers.close() };
}

export interface RegistryChannelResolution extends RegistryResolverRegistration {
  /** Channel options that make a channel's `registry:///<service>` target resolve through these registries and rules. */
  channelOptions: ChannelOptions;
}

/**
 * Resolution of `registry:///<service>` targets for the channels given its `channelOptions`
 * only, as registerRegistryResolver does for every channel: two client factories in one process
 * can each watch their own registries. `close` ends its watches.
 */
export function registryChannelResolution(options: RegistryResolverOptions): RegistryChannelResolution {
  const resolution = registryResolution(options);
  if (!schemeRegistered) registerScheme(undefined);
  return { channelOptions: registryResolutionOption.options(resolution), close: () => resolution.watchers.close() };
}
