import { registryV1 } from '@switchyard/proto';
import { serve, startMetricsServer } from '@switchyard/runtime';
import { sampleValue, scrapeMetrics } from '@switchyard/runtime/testing';
import { eventually } from '@switchyard/testing';
import { Registry } from 'prom-client';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable } from './lease-table';
import { tokenAccess } from './registry-access';
import { registryCaller, type RegistryCaller } from './registry-calls.test-support';
import { createRegistryService } from './registry-handlers';
import { instrumentRegistryStore } from './registry-metrics';

const { INSTANCE_STATE_DRAINING } = registryV1.InstanceState;

describe('registry metrics at /metrics, over real sockets', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A registry whose store is instrumented, with its metrics served on an ephemeral port. */
  async function start() {
    const registry = new Registry();
    const store = instrumentRegistryStore(new LeaseTable({ leaseTtlMs: 600, heartbeatIntervalMs: 100 }), registry);
    const shutdown = new AbortController();
    const { server, port } = await serve([createRegistryService({ store, access: tokenAccess({}), shutdownSignal: shutdown.signal })], { host: '127.0.0.1', port: 0 });
    const stopSweep = startEvictionSweep(store, 50);
    const metrics = await startMetricsServer(registry, { host: '127.0.0.1', port: 0 });
    const caller: RegistryCaller = registryCaller(`127.0.0.1:${port}`);
    cleanups.push(() => {
      caller.close();
      stopSweep();
      shutdown.abort();
      server.forceShutdown();
    }, () => metrics.close());
    const scrape = () => scrapeMetrics(metrics.port);
    return { caller, scrape };
  }

  it('follows registrations, state changes and an eviction, and records the gaps between heartbeats', async () => {
    const { caller, scrape } = await start();
    const instances = (samples: Awaited<ReturnType<typeof scrape>>, service: string, state: string) => sampleValue(samples, 'registry_instances', { service, state });
    expect(sampleValue(await scrape(), 'registry_instances')).toBeUndefined();

    const a = await caller.register({ serviceName: 'user', address: '127.0.0.1:7001', version: '1' });
    const b = await caller.register({ serviceName: 'user', address: '127.0.0.1:7002', version: '1' });
    await caller.register({ serviceName: 'order', address: '127.0.0.1:7003', version: '1' });
    let samples = await scrape();
    expect(instances(samples, 'user', 'SERVING')).toBe(2);
    expect(instances(samples, 'order', 'SERVING')).toBe(1);
    // At 0 from the first registration, so the first eviction is an increase Prometheus can see.
    expect(sampleValue(samples, 'registry_evictions_total', { service: 'order' })).toBe(0);
    expect(sampleValue(samples, 'registry_evictions_total', { service: 'user' })).toBe(0);

    // b drains, heartbeating twice; a keeps heartbeating; order's lease runs out.
    await caller.heartbeat({ instanceId: b.instance!.instanceId, leaseSecret: b.leaseSecret, state: INSTANCE_STATE_DRAINING });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await caller.heartbeat({ instanceId: b.instance!.instanceId, leaseSecret: b.leaseSecret });
    const keepA = setInterval(() => void caller.heartbeat({ instanceId: a.instance!.instanceId, leaseSecret: a.leaseSecret }).catch(() => {}), 100);
    const keepB = setInterval(() => void caller.heartbeat({ instanceId: b.instance!.instanceId, leaseSecret: b.leaseSecret }).catch(() => {}), 100);
    cleanups.push(() => clearInterval(keepA), () => clearInterval(keepB));

    samples = await eventually(async () => {
      const now = await scrape();
      return sampleValue(now, 'registry_evictions_total', { service: 'order' }) === 1 && now;
    }, 10_000, 'order to be evicted');
    expect(instances(samples, 'user', 'SERVING')).toBe(1);
    expect(instances(samples, 'user', 'DRAINING')).toBe(1);
    expect(instances(samples, 'order', 'SERVING')).toBeUndefined();
    expect(sampleValue(samples, 'registry_evictions_total', { service: 'user' })).toBe(0);
    // Every heartbeat after the first of an instance is one observation of its gap, in seconds.
    const gaps = sampleValue(samples, 'registry_heartbeat_interval_seconds_count')!;
    expect(gaps).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'registry_heartbeat_interval_seconds_sum')! / gaps).toBeLessThan(5);

    // Deregistered: gone from the gauge, and not an eviction.
    clearInterval(keepB);
    await caller.deregister({ instanceId: b.instance!.instanceId, leaseSecret: b.leaseSecret });
    samples = await scrape();
    expect(instances(samples, 'user', 'DRAINING')).toBe(0);
    expect(instances(samples, 'user', 'SERVING')).toBe(1);
    expect(sampleValue(samples, 'registry_evictions_total', { service: 'user' })).toBe(0);
  });
});
