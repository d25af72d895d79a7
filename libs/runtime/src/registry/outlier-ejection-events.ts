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

export type EjectionListener = (ejection: OutlierEjection) => void;

/**
 * A channel option (left out of subchannel arguments by its prefix) carrying the EjectionListener
 * of whoever made the channel: grpc-js creates the balancers itself from the service config, and
 * channel options are the one thing it hands them. Each client factory hears its own channels'
 * ejections, so two factories in one process never count one ejection twice.
 */
export const EJECTION_LISTENER_OPTION = 'grpc.internal.no_subchannel.switchyard.ejection_listener';

/** The listener a channel's options carry, if any. */
export function ejectionListenerOf(channelOptions: Record<string, unknown>): EjectionListener | undefined {
  const listener = channelOptions[EJECTION_LISTENER_OPTION];
  return typeof listener === 'function' ? (listener as EjectionListener) : undefined;
}
