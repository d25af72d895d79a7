import { credentials, type Client } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import pino from 'pino';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { callUnary } from './call-unary';
import { loggingInterceptor } from './logging-interceptor';

const opened = closeAfterEach();

describe('logging interceptor', () => {
  it('writes one debug line per attempt, naming the instance it reached', async () => {
    const unused = async () => {
      throw new Error('not used');
    };
    const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      getUser: async (request) => ({ user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0) } }),
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    });
    const serving = await serve([service], { host: '127.0.0.1', port: 0 });
    opened.server(serving.server);
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const address = `127.0.0.1:${serving.port}`;
    const users = new userV1.UserServiceClient(address, credentials.createInsecure(), { interceptors: [loggingInterceptor(logger)] });
    opened.client(users as Client);
    await callUnary(users.getUser.bind(users), { id: 'u1' });
    expect(lines).toEqual([expect.objectContaining({ msg: 'outgoing rpc', method: '/switchyard.user.v1.UserService/GetUser', code: 0, status: 'OK', peer: address })]);
  });
});
