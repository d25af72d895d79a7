import { status as Status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AbortFaultRule, DelayFaultRule, FaultRule } from '../config/fault-injection-config';
import { statusError } from '../errors/status-mapping';
import type { CallContext } from './call-context';
import type { CallOutcome, ServerMiddleware } from './server-middleware';

export interface FaultInjectionOptions {
  /**
   * Uniform numbers in [0, 1) that decide each percentage roll (a fault hits when
   * `random() * 100 < percent`). Default `Math.random`; `seededRandom(seed)` repeats a run.
   */
  random?: () => number;
  /** Logs each injected fault at debug, and once at warn that injection is on. Default: no logging. */
  logger?: Logger;
}

/** The rules one method gets: at most one per kind. */
interface MethodFaults {
  delay?: DelayFaultRule;
  abort?: AbortFaultRule;
  abortAfterCommit?: AbortFaultRule;
}

// Full path beats bare method name beats `*`.
function specificity(selector: string): number {
  if (selector === '*') return 0;
  return selector.startsWith('/') ? 2 : 1;
}

function selects(selector: string, path: string): boolean {
  if (selector === '*' || selector === path) return true;
  return !selector.startsWith('/') && path.slice(path.lastIndexOf('/') + 1) === selector;
}

// Ties keep the earlier rule.
function mostSpecific<Rule extends FaultRule>(rules: Rule[]): Rule | undefined {
  return rules.reduce<Rule | undefined>((best, rule) => (best && specificity(best.method) >= specificity(rule.method) ? best : rule), undefined);
}

function faultsFor(rules: readonly FaultRule[], path: string): MethodFaults {
  const matching = rules.filter((rule) => selects(rule.method, path));
  return {
    delay: mostSpecific(matching.filter((rule): rule is DelayFaultRule => rule.kind === 'delay')),
    abort: mostSpecific(matching.filter((rule): rule is AbortFaultRule => rule.kind === 'abort')),
    abortAfterCommit: mostSpecific(matching.filter((rule): rule is AbortFaultRule => rule.kind === 'abort-after-commit')),
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function waitUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function injected(code: Status, details: string): CallOutcome {
  return { code, error: statusError(code, `fault injected: ${details}`) };
}

/**
 * Injects the faults of `rules` (see fault-injection-config.ts for the FAULTS syntax) into the
 * calls it wraps, in this order: delay (given up as soon as the caller leaves), abort (the handler
 * never runs), abort-after-commit (the handler runs to completion, then the client gets the code
 * instead of its response: the lost-response case). Injected errors' details start with
 * `fault injected:`. With no rules it only calls `next`.
 *
 * Place it innermost, after tracing and logging, so spans and log lines show the faults as the
 * client saw them. For server streams, abort-after-commit fails the stream after the handler sent
 * its messages, which the client has already received.
 */
export function faultInjectionMiddleware(rules: readonly FaultRule[], options: FaultInjectionOptions = {}): ServerMiddleware {
  if (rules.length === 0) return (_call, next) => next();
  const random = options.random ?? Math.random;
  const logger = options.logger;
  logger?.warn({ faults: rules.map((rule) => rule.source) }, 'fault injection is on: some calls will be delayed or fail on purpose');
  // One entry per method the server serves, so the cache stays bounded.
  const byMethod = new Map<string, MethodFaults>();
  const hits = (rule: FaultRule | undefined): rule is FaultRule => rule !== undefined && random() * 100 < rule.percent;
  const log = (call: CallContext, rule: FaultRule, fields: Record<string, unknown>) =>
    logger?.debug({ method: call.method, fault: rule.kind, rule: rule.source, ...fields }, 'fault injected');

  return async (call, next) => {
    let faults = byMethod.get(call.method);
    if (!faults) byMethod.set(call.method, (faults = faultsFor(rules, call.method)));

    const { delay, abort, abortAfterCommit } = faults;
    if (hits(delay)) {
      log(call, delay, { delay_ms: delay.delayMs });
      if (!(await waitUnlessAborted(delay.delayMs, call.signal))) {
        const expired = call.deadline !== undefined && Date.now() >= call.deadline;
        return injected(expired ? Status.DEADLINE_EXCEEDED : Status.CANCELLED, `delay of ${delay.delayMs}ms cut short, the caller left (rule "${delay.source}")`);
      }
    }
    if (hits(abort)) {
      log(call, abort, { code: Status[abort.code] });
      return injected(abort.code, `${Status[abort.code]} before the handler ran (rule "${abort.source}")`);
    }
    const outcome = await next();
    // Only a success has a response to lose; a failure already reaches the client as it is.
    if (outcome.error === undefined && !call.signal.aborted && hits(abortAfterCommit)) {
      log(call, abortAfterCommit, { code: Status[abortAfterCommit.code] });
      return injected(abortAfterCommit.code, `${Status[abortAfterCommit.code]} after the handler completed; its response was dropped (rule "${abortAfterCommit.source}")`);
    }
    return outcome;
  };
}

/** A repeatable source of uniform numbers in [0, 1) (mulberry32), for `random` in tests and chaos runs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
