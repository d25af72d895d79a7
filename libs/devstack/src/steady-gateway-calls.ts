import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1 } from '@switchyard/proto';

export interface SteadyCallsOptions {
  /** Gateway address, host:port. */
  target: string;
  userIds: string[];
  /** Calls started every tickMs. Default 2. */
  callsPerTick?: number;
  /** Default 10. */
  tickMs?: number;
  /**
   * No new call while this many are unanswered. Default 20. On a machine too busy to carry the
   * rate, the load slows down instead of piling up calls that would miss their deadlines for
   * reasons that have nothing to do with what a test is after.
   */
  maxInFlight?: number;
  /** Deadline of each call. Default 10000. */
  deadlineMs?: number;
}

export interface SteadyCallsReport {
  calls: number;
  /** Failed calls by status name, e.g. { UNAVAILABLE: 2 }. */
  failures: Record<string, number>;
  /** Answered calls that listed partial failures, by source, code and message. */
  partialReasons: Record<string, number>;
}

export interface SteadyCalls {
  /** Calls answered so far, failed or not. */
  answered(): number;
  /** Stops sending; resolves once every call sent has its answer. Safe to call twice. */
  stop(): Promise<SteadyCallsReport>;
}

/**
 * A steady stream of GetUserWithOrders calls through the gateway, from this process: a few every
 * few milliseconds, with a bound on those in flight. For tests that need calls flowing through a
 * fault and want every one of them answered in full; load-generator.ts is the open-loop load for
 * measuring latency.
 */
export function startSteadyGatewayCalls(options: SteadyCallsOptions): SteadyCalls {
  const client = new gatewayV1.GatewayServiceClient(options.target, credentials.createInsecure());
  const callsPerTick = options.callsPerTick ?? 2;
  const maxInFlight = options.maxInFlight ?? 20;
  const deadlineMs = options.deadlineMs ?? 10_000;
  const report: SteadyCallsReport = { calls: 0, failures: {}, partialReasons: {} };
  let inFlight = 0;
  let answered = 0;
  let drained: (() => void) | undefined;

  const call = () => {
    const userId = options.userIds[report.calls % options.userIds.length];
    report.calls += 1;
    inFlight += 1;
    client.getUserWithOrders({ userId, pageSize: 0 }, new Metadata(), { deadline: Date.now() + deadlineMs }, (error: ServiceError | null, response?: gatewayV1.GetUserWithOrdersResponse) => {
      inFlight -= 1;
      answered += 1;
      if (error) {
        const name = Status[error.code] ?? String(error.code);
        report.failures[name] = (report.failures[name] ?? 0) + 1;
      } else {
        for (const failure of response?.partialFailures ?? []) {
          const reason = `${failure.source} ${failure.code}: ${failure.message}`;
          report.partialReasons[reason] = (report.partialReasons[reason] ?? 0) + 1;
        }
      }
      if (inFlight === 0) drained?.();
    });
  };

  const timer = setInterval(() => {
    for (let i = 0; i < callsPerTick && inFlight < maxInFlight; i += 1) call();
  }, options.tickMs ?? 10);

  let stopping: Promise<SteadyCallsReport> | undefined;
  return {
    answered: () => answered,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        client.close();
        return report;
      })();
      return stopping;
    },
  };
}
