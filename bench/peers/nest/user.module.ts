import { status } from '@grpc/grpc-js';
import { Controller, Module } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { fixtureUsers } from '../fixture';
import { timestamp } from './grpc-options';

const users = new Map(fixtureUsers().map((user) => [user.id, { ...user, createTime: timestamp(user.createTime) }]));

@Controller()
export class UserController {
  @GrpcMethod('UserService', 'GetUser')
  getUser({ id }: { id: string }) {
    const user = users.get(id);
    if (!user) throw new RpcException({ code: status.NOT_FOUND, message: `user "${id}" not found` });
    return { user };
  }
}

@Module({ controllers: [UserController] })
export class UserModule {}
