import { Etcd3 } from 'etcd3';
import { etcdFaultHandling } from './etcd-fault-handling';

/** How long one etcd call may take before the store answers UNAVAILABLE. */
export const ETCD_CALL_TIMEOUT_MS = 5000;

/**
 * A client of the etcd cluster at `endpoints` (http://host:port each). It connects lazily and
 * spreads calls over the members, trying another when one fails (etcd-fault-handling.ts); every
 * unary call has a deadline, so a cluster that is down answers (UNAVAILABLE) instead of leaving
 * Register or Resolve hanging.
 */
export function connectEtcd(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    faultHandling: etcdFaultHandling(),
    // Streams (watches, keepalives) live long and set their own deadlines.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_TIMEOUT_MS }),
  });
}
