import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { grpcTarget } from '@switchyard/runtime';
import { service as healthService } from 'grpc-health-check';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

/** Asks grpc.health.v1.Health/Check; resolves to the serving status, or rejects when unreachable. */
export function checkHealth(address: string, serviceName = '', timeoutMs = 1000): Promise<string> {
  const client = new HealthClient(grpcTarget(address), credentials.createInsecure());
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
