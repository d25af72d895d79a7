import { isRecoverableError, type IOptions } from 'etcd3';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Policy = NonNullable<FaultHandling['global']>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/** How long one store call keeps trying etcd members: longer than an etcd leader election (about 1 s by default). */
export const ETCD_RETRY_BUDGET_MS = 3000;
const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 500;
/** Pauses before a lost watch stream is opened again: from 100 ms, doubling up to 2 s. */
const WATCH_FIRST_DELAY_MS = 100;
const WATCH_MAX_DELAY_MS = 2000;

/**
 * etcd3's defaults are a circuit breaker per member (3 failures open it for 5 s) under 3
 * immediate attempts. While a killed member's peers elect a new leader, every member fails calls
 * for a moment, so all three breakers open and the store answers UNAVAILABLE for 5 s although a
 * quorum is up. Instead: no breaker, and each call retries recoverable failures on a random member
 * with short, growing pauses for up to ETCD_RETRY_BUDGET_MS. And a lost watch stream is opened
 * again within 2 s at most (etcd3's default pause grows to 30 s, so Watch clients would see
 * nothing for that long after etcd came back).
 */
export function etcdFaultHandling(budgetMs = ETCD_RETRY_BUDGET_MS): FaultHandling {
  const signal = new AbortController().signal;
  return {
    // etcd3 calls next() once before the first pause.
    watchBackoff: backoff(WATCH_FIRST_DELAY_MS / 2),
    host: () => policy((fn) => Promise.resolve().then(() => fn({ signal }))),
    global: policy(async (fn) => {
      const giveUpAt = Date.now() + budgetMs;
      for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
        try {
          return await fn({ signal });
        } catch (error) {
          if (!(error instanceof Error) || !isRecoverableError(error) || Date.now() + delay >= giveUpAt) throw error;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    }),
  };
}

/**
 * etcd3 takes cockatiel policies and only ever calls their `execute`; built here by shape, so the
 * registry does not depend on cockatiel itself.
 */
function policy(execute: (fn: (context: { signal: AbortSignal }) => unknown) => Promise<unknown>): Policy {
  const noListeners = () => ({ dispose: () => undefined });
  return { execute, onSuccess: noListeners, onFailure: noListeners } as unknown as Policy;
}

/** A pause that doubles on each next() up to WATCH_MAX_DELAY_MS (etcd3 reads `duration` and calls `next()`). */
function backoff(durationMs: number): WatchBackoff {
  return { duration: durationMs, next: () => backoff(Math.min(durationMs * 2, WATCH_MAX_DELAY_MS)) };
}
