import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

// Nothing from @switchyard/runtime here: the container health probe runs this every few seconds,
// and the runtime (OpenTelemetry included) would more than double its start-up time. No resolver of
// ours is registered in the probe, so grpc-js reads any host:port, `user:50052` included, as a DNS name.
const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

/** Asks grpc.health.v1.Health/Check; resolves to the serving status, or rejects when unreachable. */
export function checkHealth(address: string, serviceName = '', timeoutMs = 1000): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure());
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
