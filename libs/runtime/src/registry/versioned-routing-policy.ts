import { connectivityState as ConnectivityState, experimental, status as Status, type ChannelOptions } from '@grpc/grpc-js';
import type { RoutingRule } from '../config/routing-rules-config';
import { instanceLabelsOf, selectorMatches, selectorMetadataKeys, type InstanceLabels } from './instance-labels';
import { EJECTION_POOL_OPTION, EjectionPool } from './outlier-ejection-policy';

type ChannelControlHelper = experimental.ChannelControlHelper;
type Endpoint = experimental.Endpoint;
type Picker = experimental.Picker;
type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;
type TypedLoadBalancingConfig = experimental.TypedLoadBalancingConfig;

export const VERSIONED_ROUTING_POLICY = 'switchyard_versioned_routing';

/** Metadata naming the caller (set by the gateway's auth); sticky rules hash it. */
export const SUBJECT_HEADER = 'x-switchyard-subject';

class VersionedRoutingConfig implements TypedLoadBalancingConfig {
  constructor(
    readonly rule: RoutingRule,
    readonly child: TypedLoadBalancingConfig,
  ) {}

  getLoadBalancerName(): string {
    return VERSIONED_ROUTING_POLICY;
  }

  toJsonObject(): object {
    return { [VERSIONED_ROUTING_POLICY]: { rule: this.rule, child_policy: [this.child.toJsonObject()] } };
  }

  // The rule comes from parseRoutingRules, already checked; this only guards the shape.
  static createFromJson(json: unknown): VersionedRoutingConfig {
    const raw = (json ?? {}) as { rule?: Partial<RoutingRule>; child_policy?: unknown };
    const rule = raw.rule;
    if (!rule || typeof rule.header !== 'string' || typeof rule.weights !== 'object' || rule.weights === null) {
      throw new Error(`${VERSIONED_ROUTING_POLICY}: rule must have a header and weights`);
    }
    const child = Array.isArray(raw.child_policy) ? experimental.selectLbConfigFromList(raw.child_policy) : null;
    if (!child) throw new Error(`${VERSIONED_ROUTING_POLICY}: child_policy must list a known policy`);
    return new VersionedRoutingConfig({ header: rule.header, weights: { ...rule.weights }, sticky: rule.sticky === true }, child);
  }
}

/**
 * The instances of one version (and one value of each metadata key the rule's weights name),
 * balanced (and ejected) by their own child policy.
 */
interface VersionGroup {
  readonly labels: InstanceLabels;
  readonly child: experimental.ChildLoadBalancerHandler;
  endpoints: number;
  state: ConnectivityState;
  picker: Picker;
}

/** FNV-1a: a cheap, stable hash, so one subject always lands on the same side of a split. */
function hashToPercent(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 10_000) / 100;
}

function firstValue(args: PickArgs, key: string): string | undefined {
  const value = args.metadata.get(key)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Picks among ready groups in proportion to their instances, so each instance gets an even share. */
function pickAmong(groups: VersionGroup[], args: PickArgs): PickResult {
  let total = 0;
  for (const group of groups) total += group.endpoints;
  let at = Math.random() * total;
  for (const group of groups) {
    at -= group.endpoints;
    if (at < 0) return group.picker.pick(args);
  }
  return groups[groups.length - 1]!.picker.pick(args);
}

/**
 * Applies a rule to each call: the pinned version when the header names one with ready
 * instances, else the weighted versions for their share of calls, else the other versions.
 * A chosen version with no ready instance (all gone, ejected or not connected yet) falls back
 * to the others, so a canary that dies costs no calls.
 */
class RoutingPicker implements Picker {
  constructor(
    private readonly rule: RoutingRule,
    private readonly ready: VersionGroup[],
  ) {}

  pick(args: PickArgs): PickResult {
    const pinned = firstValue(args, this.rule.header);
    if (pinned !== undefined) {
      const groups = this.matching(pinned);
      if (groups.length > 0) return pickAmong(groups, args);
    }
    const subject = this.rule.sticky ? firstValue(args, SUBJECT_HEADER) : undefined;
    const draw = subject === undefined ? Math.random() * 100 : hashToPercent(subject);
    let upTo = 0;
    for (const [selector, weight] of Object.entries(this.rule.weights)) {
      upTo += weight;
      if (draw >= upTo) continue;
      const groups = this.matching(selector);
      if (groups.length > 0) return pickAmong(groups, args);
      break;
    }
    const selectors = Object.keys(this.rule.weights);
    const others = this.ready.filter((group) => !selectors.some((selector) => selectorMatches(selector, group.labels)));
    return pickAmong(others.length > 0 ? others : this.ready, args);
  }

  private matching(selector: string): VersionGroup[] {
    return this.ready.filter((group) => selectorMatches(selector, group.labels));
  }
}

/**
 * Splits the resolver's endpoints by the version each instance registered (the resolver's
 * instanceLabelsOption) and by the metadata the rule's `key=value` weights name, runs the
 * child policy (outlier ejection over round robin) per group, and routes each call by the
 * service's RoutingRule (see RoutingPicker).
 */
export class VersionedRoutingLoadBalancer implements experimental.LoadBalancer {
  private readonly groups = new Map<string, VersionGroup>();
  private rule: RoutingRule | undefined;
  private resolutionNote = '';
  // The versions' outlier ejection shares one cap: a sick canary can be ejected whole.
  private readonly ejectionPool = new EjectionPool();

  constructor(private readonly helper: ChannelControlHelper) {}

  updateAddressList(endpoints: experimental.StatusOr<Endpoint[]>, config: TypedLoadBalancingConfig, channelOptions: ChannelOptions, resolutionNote: string): boolean {
    if (!(config instanceof VersionedRoutingConfig)) return false;
    this.rule = config.rule;
    this.resolutionNote = resolutionNote;
    channelOptions = { ...channelOptions, [EJECTION_POOL_OPTION]: this.ejectionPool };
    if (!endpoints.ok) {
      // Groups keep what they had (as round robin does on a resolver error); with none, calls fail.
      for (const group of this.groups.values()) group.child.updateAddressList(endpoints, config.child, channelOptions, resolutionNote);
      if (this.groups.size === 0) this.helper.updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker(endpoints.error), endpoints.error.details);
      return true;
    }
    const labels = instanceLabelsOf(channelOptions);
    const metadataKeys = selectorMetadataKeys(Object.keys(config.rule.weights));
    const byKey = new Map<string, { labels: InstanceLabels; list: Endpoint[] }>();
    for (const endpoint of endpoints.value) {
      const first = endpoint.addresses[0];
      const instance = (first && labels.get(experimental.subchannelAddressToString(first))) || { version: '', metadata: {} };
      // Only the metadata the rule names splits a version, so round robin still spans the rest.
      const metadata = Object.fromEntries(metadataKeys.flatMap((key) => (instance.metadata[key] === undefined ? [] : [[key, instance.metadata[key]]])));
      const key = JSON.stringify([instance.version, metadata]);
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { labels: { version: instance.version, metadata }, list: [] }));
      entry.list.push(endpoint);
    }
    for (const [key, group] of this.groups) {
      if (byKey.has(key)) continue;
      this.groups.delete(key);
      group.child.destroy();
    }
    for (const [key, { labels: groupLabels, list }] of byKey) {
      let group = this.groups.get(key);
      if (!group) {
        group = this.newGroup(key, groupLabels);
        this.groups.set(key, group);
      }
      group.endpoints = list.length;
      group.child.updateAddressList(experimental.statusOrFromValue(list), config.child, channelOptions, resolutionNote);
    }
    this.publish();
    return true;
  }

  private newGroup(key: string, labels: InstanceLabels): VersionGroup {
    const group: VersionGroup = {
      labels,
      endpoints: 0,
      state: ConnectivityState.CONNECTING,
      picker: new experimental.QueuePicker(this),
      child: new experimental.ChildLoadBalancerHandler(
        experimental.createChildChannelControlHelper(this.helper, {
          updateState: (state, picker) => {
            group.state = state;
            group.picker = picker;
            // A group removed meanwhile says nothing more.
            if (this.groups.get(key) === group) this.publish();
          },
        }),
      ),
    };
    return group;
  }

  /** The channel's state and picker, from the groups': ready if any version is. */
  private publish(): void {
    const groups = [...this.groups.values()];
    const ready = groups.filter((group) => group.state === ConnectivityState.READY);
    if (ready.length > 0 && this.rule) {
      this.helper.updateState(ConnectivityState.READY, new RoutingPicker(this.rule, ready), null);
    } else if (groups.some((group) => group.state === ConnectivityState.CONNECTING || group.state === ConnectivityState.IDLE)) {
      this.helper.updateState(ConnectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else if (groups.length > 0) {
      this.helper.updateState(ConnectivityState.TRANSIENT_FAILURE, groups[0]!.picker, this.resolutionNote || null);
    } else {
      const details = this.resolutionNote || 'no instances to route to';
      this.helper.updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ code: Status.UNAVAILABLE, details }), details);
    }
  }

  exitIdle(): void {
    for (const group of this.groups.values()) group.child.exitIdle();
  }

  resetBackoff(): void {
    for (const group of this.groups.values()) group.child.resetBackoff();
  }

  destroy(): void {
    for (const group of this.groups.values()) group.child.destroy();
    this.groups.clear();
  }

  getTypeName(): string {
    return VERSIONED_ROUTING_POLICY;
  }
}

let registered = false;

/** Makes `switchyard_versioned_routing` usable in service configs (once per process). */
export function registerVersionedRoutingPolicy(): void {
  if (registered) return;
  experimental.registerLoadBalancerType(VERSIONED_ROUTING_POLICY, VersionedRoutingLoadBalancer, VersionedRoutingConfig);
  registered = true;
}
