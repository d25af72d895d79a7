import type { Logger } from 'pino';
import { loadServiceConfig, type AppName, type ServiceConfig } from '../config/service-config';
import { createLogger } from '../logging/create-logger';
import { RpcMetrics } from '../metrics/rpc-metrics';
import { startTelemetry, type Telemetry } from '../telemetry/start-telemetry';

/** What every app's main starts with. */
export interface AppContext {
  config: ServiceConfig;
  telemetry: Telemetry;
  logger: Logger;
  /** The app's Prometheus metrics, served at /metrics: only when METRICS_PORT is set, so no call pays for counts nobody reads. */
  metrics?: RpcMetrics;
}

/**
 * Reads the app's configuration (throwing a ConfigError that names each bad variable), starts
 * OpenTelemetry before any server or client exists, and creates the logger.
 */
export function createAppContext(app: AppName, env: Record<string, string | undefined> = process.env): AppContext {
  const config = loadServiceConfig(app, env);
  const telemetry = startTelemetry({ serviceName: app, serviceVersion: config.version, env });
  const logger = createLogger({ service: app, level: config.logLevel, format: config.logFormat, base: { instance_id: telemetry.instanceId } });
  return { config, telemetry, logger, metrics: config.metricsPort === undefined ? undefined : new RpcMetrics() };
}
