import { readFileSync } from 'node:fs';
import { credentials, makeGenericClientConstructor, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

// Nothing from @switchyard/runtime here: the container health probe runs this every few seconds,
// and the runtime (OpenTelemetry included) would more than double its start-up time. No resolver of
// ours is registered in the probe, so grpc-js reads any host:port, `user:50052` included, as a DNS name.
const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

/**
 * How to dial an app whose environment is `env`: with its own certificate when it has TLS_CERT,
 * TLS_KEY and TLS_CA (its server then requires one), else plaintext. An app with only some of
 * them refuses to start, so a half-set environment is not handled here.
 */
export function healthCheckCredentials(env: Record<string, string | undefined>): ChannelCredentials {
  const { TLS_CERT, TLS_KEY, TLS_CA } = env;
  if (!TLS_CERT || !TLS_KEY || !TLS_CA) return credentials.createInsecure();
  return credentials.createSsl(readFileSync(TLS_CA), readFileSync(TLS_KEY), readFileSync(TLS_CERT));
}

/** Asks grpc.health.v1.Health/Check; resolves to the serving status, or rejects when unreachable. */
export function checkHealth(address: string, serviceName = '', timeoutMs = 1000, channelCredentials = credentials.createInsecure()): Promise<string> {
  const checker = healthChecker(address, channelCredentials);
  return checker.check(serviceName, timeoutMs).finally(() => checker.close());
}

export interface HealthChecker {
  /** The serving status of `serviceName` ('' for the whole server); rejects when unreachable. */
  check(serviceName: string, timeoutMs: number): Promise<string>;
  close(): void;
}

/**
 * One channel for repeated checks of one address: waiting for an app to come up polls over the
 * same connection once it is made, instead of paying a new connection (and TLS handshake) within
 * each check's deadline while the app, busy starting, answers slowly.
 */
export function healthChecker(address: string, channelCredentials = credentials.createInsecure()): HealthChecker {
  // Short reconnect backoff: the app is expected any moment, and grpc-js's default (1 s growing
  // to 2 min) would notice it late.
  const client = new HealthClient(address, channelCredentials, { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 });
  return {
    check: (serviceName, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        client.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          (request: { service: string }) => healthService.Check.requestSerialize(request),
          (buffer: Buffer) => healthService.Check.responseDeserialize(buffer) as { status: string },
          { service: serviceName },
          { deadline: Date.now() + timeoutMs },
          (error: ServiceError | null, response?: { status: string }) => {
            if (error) reject(error);
            else resolve(String(response?.status));
          },
        );
      }),
    close: () => client.close(),
  };
}
