import type { AppContext } from '../server/app-context';
import { EventMetrics } from './event-metrics';
import { connectEvents, type EventsConnection } from './events-connection';
import { redactUrl } from './events-url';

/** An app's way to the event broker: the connection, and the metrics its relay or consumers record. */
export interface AppEvents {
  connection: EventsConnection;
  metrics?: EventMetrics;
}

/**
 * Connects to the broker in EVENTS_URL, in the background (see connectEvents), or says at start
 * that events are off when it is unset: the app then runs with synchronous calls only.
 */
export function openEvents({ config, logger, metrics, telemetry }: AppContext, role: string): AppEvents | undefined {
  if (!config.eventsUrl) {
    logger.info(`events off: EVENTS_URL is not set, so ${role} is off; set EVENTS_URL=nats://host:4222 to turn it on`);
    return undefined;
  }
  logger.info({ url: redactUrl(config.eventsUrl) }, `events on: ${role}`);
  return {
    connection: connectEvents({ url: config.eventsUrl, name: `${config.app}-${telemetry.instanceId}`, logger }),
    metrics: metrics && new EventMetrics(metrics.registry),
  };
}
