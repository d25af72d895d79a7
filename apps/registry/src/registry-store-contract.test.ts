// The same behavioural suite against both stores: in memory (LeaseTable with its eviction sweep)
// and on a real 3-member etcd cluster (EtcdStore).
import { randomUUID } from 'node:crypto';
import { describeWithEtcd, startEtcdCluster, type EtcdCluster } from '@switchyard/testing';
import { connectEtcd } from './etcd-client';
import { EtcdStore } from './etcd-store';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable } from './lease-table';
import { storeContract } from './registry-store-contract.test-support';

describe('RegistryStore contract: LeaseTable (in memory)', () => {
  storeContract({
    leaseTtlMs: 1000,
    heartbeatIntervalMs: 250,
    expiryGraceMs: 5000,
    async open(options) {
      const store = new LeaseTable(options);
      const stopSweep = startEvictionSweep(store, 50);
      return { store, close: stopSweep };
    },
  });
});

describeWithEtcd('RegistryStore contract: EtcdStore (3-member etcd cluster)', (etcd) => {
  jest.setTimeout(60_000);
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(etcd);
  }, 60_000);
  afterAll(() => cluster?.stop());

  storeContract({
    // etcd leases last whole seconds, and etcd grants no lease shorter than about 2 s by default.
    leaseTtlMs: 2000,
    heartbeatIntervalMs: 500,
    expiryGraceMs: 10_000,
    async open(options) {
      const client = connectEtcd(cluster.endpoints);
      // Each test gets keys of its own.
      const store = new EtcdStore({ client, prefix: `/switchyard-test/${randomUUID()}/`, ...options });
      return {
        store,
        close() {
          store.close();
          client.close();
        },
      };
    },
  });
});
