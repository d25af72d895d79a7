import type { Server } from '@grpc/grpc-js';
import { descriptorSetBase64, registryV1 } from '@switchyard/proto';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { resolveAdvertiseAddress } from '../config/advertise-address';
import type { ServiceConfig } from '../config/service-config';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server';
import type { RpcMetrics } from '../metrics/rpc-metrics';
import { serverMetricsMiddleware } from '../metrics/server-metrics-middleware';
import { startRegistration } from '../registry/registration';
import { channelCredentials, serverCredentials } from '../security/transport-credentials';
import { logSpanCounts } from '../telemetry/log-span-counts';
import type { Telemetry } from '../telemetry/start-telemetry';
import { faultInjectionMiddleware } from './fault-injection-middleware';
import { loggingMiddleware } from './logging-middleware';
import { addReflection, type ServedReflection } from './reflection';
import { serve } from './serve';
import type { ServerMiddleware } from './server-middleware';
import type { ServiceRegistration } from './service-handlers';
import { tracingMiddleware } from './tracing-middleware';

export interface StartServiceOptions {
  config: ServiceConfig;
  logger: Logger;
  telemetry: Telemetry;
  /** Records every call's duration and code, and is served at /metrics when config.metricsPort is set. */
  metrics?: RpcMetrics;
  services: ServiceRegistration[];
  /**
   * The app's own server middleware (auth, rate limits), around every call of its services after
   * tracing and logging (so they record what it decides) and before fault injection.
   */
  middleware?: ServerMiddleware[];
  /** Register with the registry under the app's name. Default true; the registry itself does not. */
  register?: boolean;
  /** Registry metadata of this instance (e.g. a canary label). */
  metadata?: Record<string, string>;
  /**
   * Methods called so often that a span and an info line each would bury the calls that matter
   * (registry heartbeats): not traced, logged at debug. Full paths, `/pkg.Service/Method`.
   */
  quietMethods?: string[];
  /** Ends server streams that would otherwise never finish (Watch), so the stop need not wait them out. */
  endStreams?: () => void;
  /** Releases what main opened (databases, clients) once no call runs any more. */
  onShutdown?: () => Promise<void> | void;
  /** Exit the process after a signal-triggered stop. Default true; tests in-process turn it off. */
  exitOnSignal?: boolean;
}

export interface RunningService {
  port: number;
  /** What other apps dial: ADVERTISE_ADDRESS (detected for `auto`), or 127.0.0.1:<port>. */
  address: string;
  /** Port of /metrics, when served. */
  metricsPort?: number;
  /** Graceful stop: NOT_SERVING and DRAINING, drain delay, finish calls in flight (bounded), deregister, release resources. */
  stop(reason: string): Promise<void>;
}

const HEALTH_SERVICE = 'grpc.health.v1.Health';
const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

function unlessQuiet(quietMethods: ReadonlySet<string>, middleware: ServerMiddleware): ServerMiddleware {
  if (quietMethods.size === 0) return middleware;
  return (call, next) => (quietMethods.has(call.method) ? next() : middleware(call, next));
}

function shutdownWithin(server: Server, timeoutMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ timeout_ms: timeoutMs }, 'calls still running at the shutdown timeout; cutting them off');
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The app lifecycle, in order: serve (health, reflection, the app's services behind the server
 * middleware), report SERVING, register with the registry; on SIGTERM or SIGINT: report
 * NOT_SERVING and DRAINING, wait DRAIN_DELAY_MS for clients to route elsewhere, let calls in
 * flight finish (up to SHUTDOWN_TIMEOUT_MS), deregister, release resources, flush spans, exit.
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config, logger, telemetry } = options;
  const serviceNames = options.services.map((service) => service.name);
  const quietMethods = new Set(options.quietMethods);
  const health = new HealthImplementation(Object.fromEntries(['', ...serviceNames].map((name) => [name, 'NOT_SERVING' as const])));
  let reflection: ServedReflection | undefined;
  const { server, port } = await serve(options.services, {
    host: config.grpcHost,
    port: config.grpcPort,
    credentials: serverCredentials(config.tls),
    limits: config.limits,
    // Faults innermost, so spans and log lines show what the client saw. A layer with nothing to
    // do is left out rather than passed through: every layer costs each call a closure and a promise.
    middleware: [
      unlessQuiet(quietMethods, tracingMiddleware),
      ...(options.metrics ? [serverMetricsMiddleware(options.metrics)] : []),
      loggingMiddleware(logger, { debugMethods: quietMethods }),
      ...(options.middleware ?? []),
      ...(config.faults.length > 0 ? [faultInjectionMiddleware(config.faults, { logger })] : []),
    ],
    configure: (server) => {
      health.addToServer(server);
      reflection = addReflection(server, { descriptorSetBase64, services: [...serviceNames, HEALTH_SERVICE, ...REFLECTION_SERVICES] });
    },
  });
  let address: string;
  try {
    address = await resolveAdvertiseAddress(config.advertiseAddress, port, logger);
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
  let metricsServer: MetricsServer | undefined;
  if (options.metrics && config.metricsPort !== undefined) {
    try {
      metricsServer = await startMetricsServer(options.metrics.registry, { host: config.grpcHost, port: config.metricsPort });
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
    logger.info({ port: metricsServer.port, path: '/metrics' }, 'metrics serving');
  }
  for (const name of ['', ...serviceNames]) health.setStatus(name, 'SERVING');

  const registration =
    options.register === false
      ? undefined
      : startRegistration({
          registryAddresses: config.registryAddresses,
          serviceName: config.app,
          address,
          version: config.version,
          metadata: options.metadata,
          token: config.registryToken,
          credentials: channelCredentials(config.tls),
          logger,
        });
  logger.info({ address, port, services: serviceNames, mutual_tls: config.tls !== undefined, tracing_export: telemetry.exporting }, `${config.app} serving`);

  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      const draining = registration?.instanceId() !== undefined;
      if (draining) logger.info({ reason, drain_delay_ms: config.drainDelayMs }, `${config.app} draining`);
      else logger.info({ reason }, `${config.app} stopping`);
      // Drain: health and registry say so first, and new calls move elsewhere while this
      // instance still answers the calls that were already routed to it.
      for (const name of ['', ...serviceNames]) health.setStatus(name, 'NOT_SERVING');
      if (draining) {
        await registration!.setState(registryV1.InstanceState.INSTANCE_STATE_DRAINING);
        await new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
      }
      options.endStreams?.();
      reflection?.endStreams();
      await shutdownWithin(server, config.shutdownTimeoutMs, logger);
      await registration?.stop();
      await metricsServer?.close();
      await options.onShutdown?.();
      // Bounded: a collector that is already gone costs its spans, never a clean exit.
      const finalExport = await telemetry.shutdown();
      if (telemetry.exporting) logSpanCounts(logger, telemetry.spanCounts(), finalExport);
      logger.info(`${config.app} stopped`);
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals | 'parent exited') => {
    void stop(signal).then(
      () => options.exitOnSignal !== false && process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        if (options.exitOnSignal !== false) process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Started with an IPC channel (by npm start's runner): the channel closes when the parent dies,
  // even of SIGKILL, and nothing else would stop this instance then.
  if (process.send) {
    if (process.connected) process.once('disconnect', () => onSignal('parent exited'));
    else onSignal('parent exited');
  }

  return { port, address, metricsPort: metricsServer?.port, stop };
}
