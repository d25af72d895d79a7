/**
 * Ejections as they happen, for metrics. Process-wide because grpc-js creates the balancers
 * itself from the service config, with no way to hand one a callback.
 */
type EjectionListener = (address: string) => void;

const listeners = new Set<EjectionListener>();

/** Calls `listener` with the address of every instance ejected from now on; returns the unsubscribe. */
export function onOutlierEjection(listener: EjectionListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportOutlierEjection(address: string): void {
  for (const listener of listeners) listener(address);
}
