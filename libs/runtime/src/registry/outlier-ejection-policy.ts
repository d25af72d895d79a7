import { connectivityState as ConnectivityState, experimental, status as Status, type ChannelOptions } from '@grpc/grpc-js';
import { systemClock, type Clock } from '../time/clock';
import { ejectionListenerOption, type EjectionListener } from './outlier-ejection-events';

type ChannelControlHelper = experimental.ChannelControlHelper;
type Endpoint = experimental.Endpoint;
type Picker = experimental.Picker;
type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;
type SubchannelInterface = experimental.SubchannelInterface;
type TypedLoadBalancingConfig = experimental.TypedLoadBalancingConfig;

export const OUTLIER_EJECTION_POLICY = 'switchyard_outlier_ejection';

/**
 * Statuses that say the instance failed, whatever the request: it refused or lost the call
 * (UNAVAILABLE, also what a dead or hung connection ends in), or broke (INTERNAL, UNKNOWN,
 * DATA_LOSS). NOT_FOUND, INVALID_ARGUMENT and the like are answers about the request, and
 * DEADLINE_EXCEEDED / CANCELLED are the caller's budget and choice: none of them count.
 */
export const INSTANCE_FAILURE_CODES: ReadonlySet<Status> = new Set([Status.UNAVAILABLE, Status.INTERNAL, Status.UNKNOWN, Status.DATA_LOSS]);

/**
 * Details of an attempt its call cancelled because a later attempt (a backup or a hedge, sent
 * after this one had waited long) answered OK first. Its instance was slower than one asked
 * later, which is what a hung instance always is and a healthy one seldom is several times in a
 * row: it counts as a failure. Other cancellations and deadlines say nothing about the instance.
 */
export const OUTRUN_DETAILS = 'outrun by a later attempt of the same call';

// gRFC A6's header on every attempt of a call after its first (retries, hedges, backups).
const PREVIOUS_ATTEMPTS_HEADER = 'grpc-previous-rpc-attempts';

export interface OutlierEjectionOptions {
  /** Failures in a row (INSTANCE_FAILURE_CODES, no success between) that eject an instance. */
  consecutiveFailures: number;
  /** First ejection's length; an instance ejected again within this time of its return stays out longer. */
  baseEjectionMs: number;
  /** Longest ejection. */
  maxEjectionMs: number;
  /** Never eject more than this share of the instances (so never the last one). */
  maxEjectionPercent: number;
}

export const DEFAULT_OUTLIER_EJECTION: OutlierEjectionOptions = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 5_000,
  maxEjectionMs: 60_000,
  maxEjectionPercent: 50,
});

// A channel option (left out of subchannel arguments by its prefix) through which a parent policy
// hands its children one EjectionPool.
export const EJECTION_POOL_OPTION = 'grpc.internal.no_subchannel.switchyard.ejection_pool';

/**
 * Sibling balancers (one per version under versioned routing) whose instances count together
 * against maxEjectionPercent: a canary version whose every instance fails can be ejected whole
 * while the service has other healthy instances, and the service's last instances never are.
 */
export class EjectionPool {
  readonly members = new Set<OutlierEjectionLoadBalancer>();
}

class OutlierEjectionConfig implements TypedLoadBalancingConfig {
  constructor(
    readonly options: OutlierEjectionOptions,
    readonly child: TypedLoadBalancingConfig,
  ) {}

  getLoadBalancerName(): string {
    return OUTLIER_EJECTION_POLICY;
  }

  toJsonObject(): object {
    return { [OUTLIER_EJECTION_POLICY]: { ...this.options, child_policy: [this.child.toJsonObject()] } };
  }

  static createFromJson(json: unknown): OutlierEjectionConfig {
    const raw = (json ?? {}) as Partial<Record<keyof OutlierEjectionOptions, unknown>> & { child_policy?: unknown };
    const options = { ...DEFAULT_OUTLIER_EJECTION };
    for (const key of Object.keys(DEFAULT_OUTLIER_EJECTION) as (keyof OutlierEjectionOptions)[]) {
      const value = raw[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !(value > 0)) throw new Error(`${OUTLIER_EJECTION_POLICY}: ${key} must be a number > 0, got ${JSON.stringify(value)}`);
      options[key] = value;
    }
    const child = Array.isArray(raw.child_policy) ? experimental.selectLbConfigFromList(raw.child_policy) : null;
    if (!child) throw new Error(`${OUTLIER_EJECTION_POLICY}: child_policy must list a known policy, e.g. [{ "round_robin": {} }]`);
    return new OutlierEjectionConfig(options, child);
  }
}

/** What the policy knows about one instance address, kept across its subchannels. */
class InstanceRecord {
  constructor(readonly address: string) {}

  consecutiveFailures = 0;
  ejected = false;
  /** Ejections in a row (each one starting soon after the last ended): the ejection's multiplier. */
  ejections = 0;
  lastReturnAt = -Infinity;
  /** Calls started on it and not ended yet: a hung instance keeps every call it gets. */
  inFlight = 0;
  cancelReturn: (() => void) | undefined;
  readonly subchannels = new Set<EjectableSubchannel>();

  setHealthy(healthy: boolean): void {
    for (const subchannel of this.subchannels) subchannel.setEjected(!healthy);
  }

  clearTimer(): void {
    this.cancelReturn?.();
    this.cancelReturn = undefined;
  }
}

/**
 * A subchannel the child policy sees as unhealthy while its instance is ejected: round robin's
 * per-endpoint pick_first then reports it in TRANSIENT_FAILURE and picks the others.
 */
class EjectableSubchannel extends experimental.BaseSubchannelWrapper {
  constructor(
    child: SubchannelInterface,
    readonly record: InstanceRecord,
  ) {
    super(child);
  }

  setEjected(ejected: boolean): void {
    this.setHealthy(!ejected);
  }

  unwrap(): SubchannelInterface {
    return this.child;
  }

  // Called when the child policy lets go of its last reference.
  protected override destroy(): void {
    this.record.subchannels.delete(this);
    super.destroy();
  }
}

function recordOf(result: PickResult): InstanceRecord | undefined {
  return result.pickResultType === experimental.PickResultType.COMPLETE && result.subchannel instanceof EjectableSubchannel ? result.subchannel.record : undefined;
}

/**
 * The child's picker, counting each call's outcome against the instance it was sent to. A later
 * attempt of a call (a retry or a backup) is offered two picks and goes to the instance with fewer
 * calls in flight: the earlier attempt may be waiting on a hung instance, which round robin would
 * otherwise pick again as often as any other.
 */
class CountingPicker implements Picker {
  constructor(
    private readonly child: Picker,
    private readonly balancer: OutlierEjectionLoadBalancer,
  ) {}

  pick(args: PickArgs): PickResult {
    let result = this.child.pick(args);
    let record = recordOf(result);
    if (record && record.inFlight > 0 && args.metadata.get(PREVIOUS_ATTEMPTS_HEADER).length > 0) {
      const other = this.child.pick(args);
      const otherRecord = recordOf(other);
      if (otherRecord && otherRecord.inFlight < record.inFlight) [result, record] = [other, otherRecord];
    }
    if (!record) return result;
    const counted = record;
    const childOnCallStarted = result.onCallStarted;
    const childOnCallEnded = result.onCallEnded;
    return {
      ...result,
      // Policies that wrap subchannels unwrap them in their picker (grpc-js's rule).
      subchannel: (result.subchannel as EjectableSubchannel).unwrap(),
      onCallStarted: () => {
        counted.inFlight += 1;
        childOnCallStarted?.();
      },
      onCallEnded: (code, details, metadata) => {
        counted.inFlight -= 1;
        this.balancer.recordOutcome(counted, code, details);
        childOnCallEnded?.(code, details, metadata);
      },
    };
  }
}

/**
 * Envoy-style consecutive-failure outlier ejection over a child policy (round robin). grpc-js's
 * own outlier_detection counts every non-OK status as a failure, so callers asking for ids that
 * do not exist (NOT_FOUND) would eject healthy instances; this one counts only statuses that
 * speak about the instance (INSTANCE_FAILURE_CODES, and attempts outrun by a later one:
 * OUTRUN_DETAILS), ejects after `consecutiveFailures` of them
 * in a row, for `baseEjectionMs` times the number of ejections in a row (capped), and never more
 * than `maxEjectionPercent` of the instances.
 */
export class OutlierEjectionLoadBalancer implements experimental.LoadBalancer {
  private readonly child: experimental.ChildLoadBalancerHandler;
  private readonly records = new Map<string, InstanceRecord>();
  private options: OutlierEjectionOptions = DEFAULT_OUTLIER_EJECTION;
  private pool: EjectionPool | undefined;
  private onEjection: EjectionListener | undefined;

  constructor(
    helper: ChannelControlHelper,
    private readonly clock: Clock = systemClock,
  ) {
    this.child = new experimental.ChildLoadBalancerHandler(
      experimental.createChildChannelControlHelper(helper, {
        createSubchannel: (address, args) => {
          const key = experimental.subchannelAddressToString(address);
          let record = this.records.get(key);
          // An address the resolver has not listed (should not happen): tracked from now on.
          if (!record) this.records.set(key, (record = new InstanceRecord(key)));
          const subchannel = new EjectableSubchannel(helper.createSubchannel(address, args), record);
          record.subchannels.add(subchannel);
          if (record.ejected) subchannel.setEjected(true);
          return subchannel;
        },
        updateState: (state, picker, errorMessage) =>
          helper.updateState(state, state === ConnectivityState.READY ? new CountingPicker(picker, this) : picker, errorMessage),
      }),
    );
  }

  updateAddressList(endpoints: experimental.StatusOr<Endpoint[]>, config: TypedLoadBalancingConfig, channelOptions: ChannelOptions, resolutionNote: string): boolean {
    if (!(config instanceof OutlierEjectionConfig)) return false;
    this.options = config.options;
    this.onEjection = ejectionListenerOption.of(channelOptions);
    const pool: unknown = channelOptions[EJECTION_POOL_OPTION];
    if (pool instanceof EjectionPool && pool !== this.pool) {
      this.pool?.members.delete(this);
      this.pool = pool;
      pool.members.add(this);
    }
    if (endpoints.ok) {
      const listed = new Set(endpoints.value.flatMap((endpoint) => endpoint.addresses.map((address) => experimental.subchannelAddressToString(address))));
      for (const [key, record] of this.records) {
        if (listed.has(key)) continue;
        record.clearTimer();
        this.records.delete(key);
      }
      for (const key of listed) if (!this.records.has(key)) this.records.set(key, new InstanceRecord(key));
      this.restoreBeyondMaxEjection();
    }
    return this.child.updateAddressList(endpoints, config.child, channelOptions, resolutionNote);
  }

  /** Called by the picker when a call sent to `record`'s instance ends. */
  recordOutcome(record: InstanceRecord, code: Status, details: string): void {
    if (record.ejected) return;
    const outrun = code === Status.CANCELLED && details === OUTRUN_DETAILS;
    // The caller's budget or choice: neither a failure nor proof that the instance answers.
    if (!outrun && (code === Status.CANCELLED || code === Status.DEADLINE_EXCEEDED)) return;
    if (!outrun && !INSTANCE_FAILURE_CODES.has(code)) {
      // Any answer, even NOT_FOUND, shows the instance works.
      record.consecutiveFailures = 0;
      return;
    }
    record.consecutiveFailures += 1;
    if (record.consecutiveFailures >= this.options.consecutiveFailures) this.eject(record, outrun ? 'outrun' : (Status[code] ?? String(code)));
  }

  /** Instances and ejected ones, of this balancer or of its whole pool. */
  private ejectionCounts(): { instances: number; ejected: number } {
    let instances = 0;
    let ejected = 0;
    for (const balancer of this.pool?.members ?? [this]) {
      instances += balancer.records.size;
      for (const record of balancer.records.values()) if (record.ejected) ejected += 1;
    }
    return { instances, ejected };
  }

  private eject(record: InstanceRecord, lastFailure: string): void {
    const { instances, ejected } = this.ejectionCounts();
    if (((ejected + 1) * 100) / instances > this.options.maxEjectionPercent) return;
    const now = this.clock.now();
    // Sick again soon after it came back: a longer ejection than the last one.
    record.ejections = now - record.lastReturnAt < this.options.baseEjectionMs ? record.ejections + 1 : 1;
    record.ejected = true;
    record.setHealthy(false);
    const ejectionMs = Math.min(this.options.baseEjectionMs * record.ejections, this.options.maxEjectionMs);
    record.cancelReturn = this.clock.schedule(ejectionMs, () => this.restore(record));
    this.onEjection?.({ address: record.address, ejectionMs, consecutiveFailures: record.consecutiveFailures, lastFailure });
  }

  /**
   * Fewer instances than when some were ejected (others drained or evicted since): ejections
   * beyond maxEjectionPercent of what is left end at once, so the last instance is never out.
   */
  private restoreBeyondMaxEjection(): void {
    const counts = this.ejectionCounts();
    const excess = counts.ejected - Math.floor((counts.instances * this.options.maxEjectionPercent) / 100);
    if (excess <= 0) return;
    const ejected = [...this.records.values()].filter((record) => record.ejected);
    for (const record of ejected.slice(0, excess)) {
      record.clearTimer();
      this.restore(record);
    }
  }

  private restore(record: InstanceRecord): void {
    record.cancelReturn = undefined;
    record.ejected = false;
    record.consecutiveFailures = 0;
    record.lastReturnAt = this.clock.now();
    record.setHealthy(true);
  }

  exitIdle(): void {
    this.child.exitIdle();
  }

  resetBackoff(): void {
    this.child.resetBackoff();
  }

  destroy(): void {
    for (const record of this.records.values()) record.clearTimer();
    this.records.clear();
    this.pool?.members.delete(this);
    this.child.destroy();
  }

  getTypeName(): string {
    return OUTLIER_EJECTION_POLICY;
  }
}

let registered = false;

/**
 * Makes `switchyard_outlier_ejection` usable in service configs (once per process). `clock`
 * (default the system's) times ejections; a test passes its own, which channels created from
 * then on use, and a later call without one keeps it.
 */
export function registerOutlierEjectionPolicy(clock?: Clock): void {
  if (registered && clock === undefined) return;
  const ejectionClock = clock ?? systemClock;
  // grpc-js constructs balancers with the helper alone.
  class ClockedOutlierEjectionLoadBalancer extends OutlierEjectionLoadBalancer {
    constructor(helper: ChannelControlHelper) {
      super(helper, ejectionClock);
    }
  }
  experimental.registerLoadBalancerType(OUTLIER_EJECTION_POLICY, ClockedOutlierEjectionLoadBalancer, OutlierEjectionConfig);
  registered = true;
}
