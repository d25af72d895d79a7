import { channelScopedOption } from './channel-scoped-option';

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

/** Each client factory hears its own channels' ejections, so two factories in one process never count one ejection twice. */
export const ejectionListenerOption = channelScopedOption<EjectionListener>('ejection_listener', (value) => typeof value === 'function');
