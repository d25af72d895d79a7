// EtcdStore beyond the shared contract (registry-store-contract.test.ts): several replicas on one
// real 3-member cluster, members SIGKILLed under it, and etcd out of reach.
import { randomUUID } from 'node:crypto';
import { status as Status } from '@grpc/grpc-js';
import { PermissionDeniedError } from '@switchyard/runtime';
import { describeWithEtcd, eventually, freePort, startEtcdCluster, type EtcdCluster } from '@switchyard/testing';
import { Registry } from 'prom-client';
import { connectEtcd } from './etcd-client';
import { EtcdKeyLayout } from './etcd-key-layout';
import { EtcdServiceWatches } from './etcd-service-watches';
import { EtcdStore, type EtcdStoreOptions } from './etcd-store';
import { instrumentRegistryStore } from './registry-metrics';
import type { StoreEvent } from './registry-store';

const user = { serviceName: 'user', address: '10.0.0.1:50052', version: '1.0.0' };
const TTL = { leaseTtlMs: 2000, heartbeatIntervalMs: 500 };

describe('EtcdStore with etcd out of reach', () => {
  it('answers UNAVAILABLE naming etcd, and a watch waits without crashing', async () => {
    const client = connectEtcd([`http://127.0.0.1:${await freePort()}`]);
    const store = new EtcdStore({ client, ...TTL });
    try {
      const calls = [store.register(user), store.resolve('user'), store.listServices(), store.heartbeat('i1', 'secret'), store.deregister('i1', 'secret')];
      for (const outcome of await Promise.allSettled(calls)) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as { code?: number; details?: string };
        expect(error).toMatchObject({ code: Status.UNAVAILABLE });
        expect(error.details).toMatch(/the registry's etcd store did not answer \(.+\); check that a quorum of the etcd members in ETCD_ENDPOINTS is up/);
      }
      const events: StoreEvent[] = [];
      const unsubscribe = store.watch('user', (event) => events.push(event));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events).toEqual([]);
      unsubscribe();
    } finally {
      store.close();
      client.close();
    }
  }, 60_000);
});

describeWithEtcd('EtcdStore on a 3-member cluster', (etcd) => {
  jest.setTimeout(90_000);
  let cluster: EtcdCluster;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    cluster = await startEtcdCluster(etcd);
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => cluster?.stop());

  /** `count` stores sharing one fresh prefix, each with its own client: replicas of one registry. */
  const replicas = (count: number, options: Partial<EtcdStoreOptions> = {}) => {
    const prefix = `/switchyard-test/${randomUUID()}/`;
    return Array.from({ length: count }, () => {
      const client = connectEtcd(cluster.endpoints);
      const store = new EtcdStore({ client, memberCount: cluster.endpoints.length, prefix, ...TTL, ...options });
      cleanups.push(() => {
        store.close();
        client.close();
      });
      return store;
    });
  };
  const watchOf = (store: EtcdStore, serviceName: string) => {
    const events: StoreEvent[] = [];
    cleanups.push(store.watch(serviceName, (event) => events.push(event)));
    const ids = () => {
      const live = new Map<string, string>();
      for (const event of events) {
        if (event.type === 'snapshot') {
          live.clear();
          for (const instance of event.instances) live.set(instance.instanceId, instance.state);
        } else if (event.type === 'upsert') live.set(event.instance.instanceId, event.instance.state);
        else live.delete(event.instance.instanceId);
      }
      return [...live.keys()].sort();
    };
    return { events, ids };
  };

  it('lets any replica renew, remove and watch what another registered, and keeps addresses owned across them', async () => {
    const [a, b] = replicas(2);
    const watchB = watchOf(b, 'user');
    await eventually(() => watchB.events.length === 1, 10_000, 'the first snapshot on B');
    const instance = await a.register(user);
    await eventually(() => watchB.ids().includes(instance.instanceId), 10_000, 'B to see the registration made on A');
    expect((await b.resolve('user')).map((i) => i.instanceId)).toEqual([instance.instanceId]);
    await expect(b.register(user)).rejects.toThrow(/address 10\.0\.0\.1:50052 is held by a live instance of user/);
    await expect(b.heartbeat(instance.instanceId, 'not-the-secret')).rejects.toThrow(PermissionDeniedError);
    expect(await b.heartbeat(instance.instanceId, instance.leaseSecret, 'DRAINING')).toMatchObject({ state: 'DRAINING' });
    expect((await a.resolve('user'))[0]).toMatchObject({ state: 'DRAINING' });
    // B takes the address back with A's secret: a restarted instance whose registry call lands elsewhere.
    const again = await b.register({ ...user, leaseSecret: instance.leaseSecret });
    await expect(a.heartbeat(instance.instanceId, instance.leaseSecret)).rejects.toThrow(/not found/);
    await b.deregister(again.instanceId, again.leaseSecret);
    expect(await a.resolve('user')).toEqual([]);
    await eventually(() => watchB.ids().length === 0, 10_000, 'B to see the deregistration');
  });

  it('skips keys under the prefix that are not instance records, in Resolve and Watch alike', async () => {
    const prefix = `/switchyard-test/${randomUUID()}/`;
    const client = connectEtcd(cluster.endpoints);
    const store = new EtcdStore({ client, prefix, ...TTL });
    cleanups.push(() => {
      store.close();
      client.close();
    });
    await client.put(`${prefix}user/by-hand`).value('not json');
    const watch = watchOf(store, 'user');
    await eventually(() => watch.events.length === 1, 10_000, 'the snapshot');
    await client.put(`${prefix}user/by-hand-2`).value('{"also": "not a record"}');
    const instance = await store.register(user);
    await eventually(() => watch.ids().includes(instance.instanceId), 10_000, 'the registration after the junk');
    expect(watch.ids()).toEqual([instance.instanceId]);
    expect((await store.resolve('user')).map((i) => i.instanceId)).toEqual([instance.instanceId]);
    await expect(store.heartbeat('by-hand', 'secret')).rejects.toThrow(/not found/);
  });

  it('shares one etcd watch among the watchers of a service in a process', async () => {
    const client = connectEtcd(cluster.endpoints);
    cleanups.push(() => client.close());
    const watches = new EtcdServiceWatches(client, new EtcdKeyLayout(`/switchyard-test/${randomUUID()}/`));
    const stops = [watches.watch('user', () => undefined), watches.watch('user', () => undefined), watches.watch('order', () => undefined)];
    expect(watches.size).toBe(2);
    stops[0]();
    expect(watches.size).toBe(2);
    stops[1]();
    stops[2]();
    expect(watches.size).toBe(0);
  });

  it('keeps the view, writes and watches going while members are SIGKILLed one at a time', async () => {
    const [a, b] = replicas(2);
    const first = await a.register(user);
    const watchB = watchOf(b, 'user');
    const registered = [first.instanceId];
    await eventually(() => watchB.ids().length === 1, 10_000, 'the first snapshot on B');
    // Heartbeats through both replicas in turn, all along. One that lands in a leader election
    // longer than the store's retry budget (a busy machine) answers UNAVAILABLE, and is sent again
    // at the next beat, as an app's registration does: the lease must live through it.
    let beating = true;
    let beats = 0;
    let unavailable = 0;
    const heartbeats = (async () => {
      while (beating) {
        await (beats++ % 2 ? a : b).heartbeat(first.instanceId, first.leaseSecret).catch((error: { code?: number }) => {
          if (error.code !== Status.UNAVAILABLE) throw error;
          unavailable += 1;
        });
        await new Promise((resolve) => setTimeout(resolve, TTL.heartbeatIntervalMs));
      }
    })();
    try {
      // Whichever member B's watch stream and each client's calls use, one of these kills hits it.
      for (const member of [0, 1, 2]) {
        await cluster.kill(member);
        const next = await eventually(() => a.register({ ...user, address: `10.0.1.${member}:50052` }), 20_000, `a Register with member ${member} down`);
        registered.push(next.instanceId);
        await eventually(async () => (await b.resolve('user')).length === registered.length, 20_000, `B to resolve ${registered.length} instances`);
        await eventually(() => watchB.ids().join() === [...registered].sort().join(), 20_000, `B's watch to see ${registered.length} instances with member ${member} down`);
        await cluster.restart(member);
      }
    } finally {
      beating = false;
      await heartbeats;
    }
    // The first instance lived through it all on heartbeats alone.
    process.stdout.write(`etcd store | members SIGKILLed one at a time: ${beats} heartbeats, ${unavailable} UNAVAILABLE\n`);
    expect((await a.resolve('user')).map((i) => i.instanceId)).toContain(first.instanceId);
  });

  it('serves the registry metrics from etcd', async () => {
    const [store] = replicas(1);
    const registry = new Registry();
    const instrumented = instrumentRegistryStore(store, registry);
    expect('sweep' in instrumented).toBe(false);
    const instance = await instrumented.register(user);
    await instrumented.register({ ...user, address: '10.0.0.2:50052' });
    await instrumented.heartbeat(instance.instanceId, instance.leaseSecret, 'DRAINING');
    const text = await registry.metrics();
    expect(text).toContain('registry_instances{service="user",state="SERVING"} 1');
    expect(text).toContain('registry_instances{service="user",state="DRAINING"} 1');
    expect(text).toMatch(/registry_heartbeat_interval_seconds_count 1/);
  });
});
