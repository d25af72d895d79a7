import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { GatewayModule } from './gateway.module';
import { grpcOptions, type NestServiceName } from './grpc-options';
import { OrderModule } from './order.module';
import { UserModule } from './user.module';

export interface NestServiceOptions {
  /** host:port this service listens on. */
  url: string;
  protosDir: string;
  /** The gateway's user and order addresses. */
  upstream?: { user: string; order: string };
}

function moduleFor(service: NestServiceName, options: NestServiceOptions) {
  if (service === 'user') return UserModule;
  if (service === 'order') return OrderModule;
  if (!options.upstream) throw new Error('the Nest gateway needs upstream addresses');
  return GatewayModule.forUpstreams(options.upstream, options.protosDir);
}

/** One Nest microservice (gRPC transport) in this process, as Switchyard runs one service per process. */
export async function startNestService(service: NestServiceName, options: NestServiceOptions): Promise<{ stop(): Promise<void> }> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(moduleFor(service, options), grpcOptions(service, options.url, options.protosDir));
  await app.listen();
  return { stop: () => app.close() };
}
