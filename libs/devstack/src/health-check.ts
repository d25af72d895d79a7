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
  const client = new HealthClient(address, channelCredentials);
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (request: { service: string }) => healthService.Check.requestSerialize(request),
      (buffer: Buffer) => healthService.Check.responseDeserialize(buffer) as { status: string },
      { service: serviceName },
      { deadline: Date.now() + timeoutMs },
      (error: ServiceError | null, response?: { status: string }) => {
        client.close();
        if (error) reject(error);
        else resolve(String(response?.status));
      },
    );
  });
}
