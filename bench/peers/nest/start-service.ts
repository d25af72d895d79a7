import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { Logger } from 'nestjs-pino';
import { CallLoggingModule } from './call-logging.module';
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
  /** A log line per call at this level through nestjs-pino; none (Nest's defaults) when unset. */
  callLogLevel?: string;
}

function moduleFor(service: NestServiceName, options: NestServiceOptions) {
  if (service === 'user') return UserModule;
  if (service === 'order') return OrderModule;
  if (!options.upstream) throw new Error('the Nest gateway needs upstream addresses');
  return GatewayModule.forUpstreams(options.upstream, options.protosDir);
}

/** One Nest microservice (gRPC transport) in this process, as Switchyard runs one service per process. */
export async function startNestService(service: NestServiceName, options: NestServiceOptions): Promise<{ stop(): Promise<void> }> {
  const serviceModule = moduleFor(service, options);
  const root = options.callLogLevel === undefined ? serviceModule : CallLoggingModule.around(serviceModule, options.callLogLevel);
  const transport = grpcOptions(service, options.url, options.protosDir);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(root, { ...transport, bufferLogs: options.callLogLevel !== undefined });
  // Nest's own lines (start-up, errors) through the same pino logger, as nestjs-pino's setup has it.
  if (options.callLogLevel !== undefined) app.useLogger(app.get(Logger));
  await app.listen();
  return { stop: () => app.close() };
}
