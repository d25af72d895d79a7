/** An instance taken out of rotation by outlier detection. */
export interface OutlierEjection {
  address: string;
  /** How long it stays out. */
  ejectionMs: number;
  /** The failures in a row that ejected it. */
  consecutiveFailures: number;
  /** The last of them: a status name (UNAVAILABLE, INTERNAL...) or `outrun` (a backup attempt answered first). */
  lastFailure: string;
}

/**
 * Ejections as they happen, for metrics and logs. Process-wide because grpc-js creates the
 * balancers itself from the service config, with no way to hand one a callback.
 */
type EjectionListener = (ejection: OutlierEjection) => void;

const listeners = new Set<EjectionListener>();

/** Calls `listener` with every instance ejected from now on; returns the unsubscribe. */
export function onOutlierEjection(listener: EjectionListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportOutlierEjection(ejection: OutlierEjection): void {
  for (const listener of listeners) listener(ejection);
}
