import { join } from 'node:path';
import { Transport, type GrpcOptions } from '@nestjs/microservices';

export type NestServiceName = 'user' | 'order' | 'gateway';

const PACKAGE: Record<NestServiceName, string> = {
  user: 'switchyard.user.v1',
  order: 'switchyard.order.v1',
  gateway: 'switchyard.gateway.v1',
};

/**
 * Nest's gRPC transport options for one of our services, from our own .proto files (protos/),
 * loaded by @grpc/proto-loader as Nest does; int64 fields as JS numbers.
 */
export function grpcOptions(service: NestServiceName, url: string, protosDir: string): GrpcOptions & { transport: Transport.GRPC } {
  return {
    transport: Transport.GRPC,
    options: {
      url,
      package: PACKAGE[service],
      protoPath: join(protosDir, 'switchyard', service, 'v1', `${service}_service.proto`),
      loader: { includeDirs: [protosDir], longs: Number },
    },
  };
}

/** google.protobuf.Timestamp as proto-loader takes it. */
export function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
