import { registryV1 } from '@switchyard/proto';
import pino from 'pino';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { startRegistration } from './registration';

const opened = closeAfterEach();
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    // A call its client gave up on, or the server's shutdown, ends the wait: no timer outlives the test.
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * A registry that grants the lease at once and answers the Register only after `answerAfterMs`,
 * as a loaded registry or network can: the lease exists before the app hears of it.
 */
async function slowRegistry(answerAfterMs: number) {
  const granted: string[] = [];
  const withdrawn: string[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('not used');
  };
  const service = defineService('switchyard.registry.v1.RegistryService', registryV1.RegistryServiceService, {
    async register(request, ctx) {
      const instanceId = `instance-${granted.length + 1}`;
      granted.push(instanceId);
      await sleep(answerAfterMs, ctx.signal);
      return {
        instance: { instanceId, serviceName: request.serviceName, address: request.address, version: request.version, metadata: {}, state: request.state, zone: '', registerTime: new Date(), leaseExpireTime: new Date(Date.now() + 10_000) },
        leaseTtl: { seconds: 10, nanos: 0 },
        heartbeatInterval: { seconds: 2, nanos: 0 },
        leaseSecret: 'secret',
      };
    },
    heartbeat: unused,
    async deregister(request) {
      withdrawn.push(request.instanceId);
      return {};
    },
    resolve: unused,
    listServices: unused,
    watch: unused,
  });
  const serving = await serve([service], { host: '127.0.0.1', port: 0 });
  opened.server(serving.server);
  return { address: `127.0.0.1:${serving.port}`, granted, withdrawn };
}

describe('registration stop() with a Register in flight', () => {
  it('waits for its answer and withdraws the lease the registry already granted', async () => {
    const registry = await slowRegistry(300);
    const registration = startRegistration({ registryAddresses: [registry.address], serviceName: 'user', address: '127.0.0.1:50123', version: '1', logger: pino({ level: 'silent' }) });
    while (registry.granted.length === 0) await sleep(5);
    await registration.stop();
    expect(registry.granted).toEqual(['instance-1']);
    expect(registry.withdrawn).toEqual(['instance-1']);
  });

  it('gives up on an answer that takes longer than half its bound, and still stops within the bound', async () => {
    const registry = await slowRegistry(5_000);
    const registration = startRegistration({ registryAddresses: [registry.address], serviceName: 'user', address: '127.0.0.1:50124', version: '1', logger: pino({ level: 'silent' }), stopTimeoutMs: 600 });
    while (registry.granted.length === 0) await sleep(5);
    const started = Date.now();
    await registration.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    // Its id never arrived: that lease is left to expire at the registry.
    expect(registry.withdrawn).toEqual([]);
  });
});
