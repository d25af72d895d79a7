import { ConfigError } from '@switchyard/runtime';
import { loadRegistrySettings } from './registry-config';
import { DEFAULT_REGISTRY_LIMITS } from './registry-limits';

describe('loadRegistrySettings', () => {
  it('applies safe defaults', () => {
    expect(loadRegistrySettings({})).toEqual({
      leaseTtlMs: 6000,
      heartbeatIntervalMs: 2000,
      sweepIntervalMs: 250,
      serviceTokens: {},
      readAccess: undefined,
      limits: DEFAULT_REGISTRY_LIMITS,
      maxWatchesPerPeer: 64,
      watchStallMs: 15_000,
      dashboard: undefined,
      store: { kind: 'memory' },
    });
  });

  it('turns the dashboard on with HTTP_PORT, on GRPC_HOST unless HTTP_HOST says otherwise', () => {
    expect(loadRegistrySettings({ HTTP_PORT: '8051', GRPC_HOST: '127.0.0.1' }).dashboard).toEqual({ host: '127.0.0.1', port: 8051 });
    expect(loadRegistrySettings({ HTTP_PORT: '0', GRPC_HOST: '127.0.0.1', HTTP_HOST: '::1' }).dashboard).toEqual({ host: '::1', port: 0 });
    expect(loadRegistrySettings({ HTTP_PORT: '' }).dashboard).toBeUndefined();
    expect(() => loadRegistrySettings({ HTTP_PORT: 'web' })).toThrow(/HTTP_PORT="web": expected a port number/);
  });

  it('reads per-service tokens, read access and limits', () => {
    const settings = loadRegistrySettings({
      REGISTRY_TOKENS: ' user=0123456789abcdefUSER , order=0123456789abcdefORDER ',
      REGISTRY_READ_ACCESS: 'open',
      REGISTRY_MAX_INSTANCES: '500',
      REGISTRY_MAX_METADATA_ENTRIES: '4',
      REGISTRY_ALLOW_LINK_LOCAL: 'true',
      REGISTRY_MAX_WATCHES_PER_PEER: '8',
      REGISTRY_WATCH_STALL_MS: '1000',
    });
    expect(settings.serviceTokens).toEqual({ user: '0123456789abcdefUSER', order: '0123456789abcdefORDER' });
    expect(settings).toMatchObject({ readAccess: 'open', maxWatchesPerPeer: 8, watchStallMs: 1000 });
    expect(settings.limits).toMatchObject({ maxInstances: 500, maxMetadataEntries: 4, allowLinkLocal: true });
  });

  it.each([
    ['user:tok', 'REGISTRY_TOKENS=(hidden): expected service=token pairs separated by commas'],
    ['user=short', 'REGISTRY_TOKENS=(hidden): the token of user must be at least 16 characters'],
    ['User=0123456789abcdef', 'entry 1 does not start with a service name'],
    ['user=0123456789abcdef,user=0123456789abcdeg', 'user appears twice'],
  ])('refuses REGISTRY_TOKENS=%s naming the variable, never the tokens', (value, message) => {
    expect(() => loadRegistrySettings({ REGISTRY_TOKENS: value })).toThrow(ConfigError);
    expect(() => loadRegistrySettings({ REGISTRY_TOKENS: value })).toThrow(message);
    const error = (() => {
      try {
        loadRegistrySettings({ REGISTRY_TOKENS: value });
      } catch (thrown) {
        return String(thrown);
      }
    })();
    for (const token of value.split(/[,=:]/).filter((part) => part.length >= 5)) expect(error).not.toContain(token);
  });

  it('names bad limits and read access', () => {
    expect(() => loadRegistrySettings({ REGISTRY_READ_ACCESS: 'tls', REGISTRY_MAX_INSTANCES: '0', REGISTRY_ALLOW_LINK_LOCAL: 'yes' })).toThrow(
      /REGISTRY_READ_ACCESS="tls": expected open, token or mtls\n {2}REGISTRY_MAX_INSTANCES="0": expected a number > 0\n {2}REGISTRY_ALLOW_LINK_LOCAL="yes": expected true or false/,
    );
  });

  it('takes REGISTRY_READ_ACCESS=mtls only with mutual TLS on', () => {
    expect(() => loadRegistrySettings({ REGISTRY_READ_ACCESS: 'mtls' })).toThrow(/REGISTRY_READ_ACCESS="mtls": needs mutual TLS; set TLS_CERT, TLS_KEY and TLS_CA/);
    expect(loadRegistrySettings({ REGISTRY_READ_ACCESS: 'mtls', TLS_CERT: '/certs/registry.crt' }).readAccess).toBe('mtls');
  });

  it('refuses limits whose largest Watch snapshot would not fit a client\'s 4 MiB receive limit', () => {
    expect(() => loadRegistrySettings({ REGISTRY_MAX_INSTANCES_PER_SERVICE: '1000' })).toThrow(
      /REGISTRY_MAX_INSTANCES_PER_SERVICE=1000 with the field limits .* allows Watch snapshots of up to \d+ bytes, more than the 4194304 a client receives by default/,
    );
    // Smaller metadata makes room for more instances.
    expect(loadRegistrySettings({ REGISTRY_MAX_INSTANCES_PER_SERVICE: '1000', REGISTRY_MAX_METADATA_ENTRIES: '4' }).limits.maxInstancesPerService).toBe(1000);
  });

  it('keeps the heartbeat interval below the lease TTL', () => {
    expect(() => loadRegistrySettings({ HEARTBEAT_INTERVAL_MS: '6000' })).toThrow('HEARTBEAT_INTERVAL_MS=6000 must be shorter than LEASE_TTL_MS=6000');
  });

  it('keeps leases in etcd with REGISTRY_STORE=etcd and ETCD_ENDPOINTS', () => {
    expect(loadRegistrySettings({ REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: ' http://etcd-0:2379 , http://10.0.0.2:2379,http://[::1]:2379' }).store).toEqual({
      kind: 'etcd',
      endpoints: ['http://etcd-0:2379', 'http://10.0.0.2:2379', 'http://[::1]:2379'],
      prefix: '/switchyard/registry/',
    });
    expect(loadRegistrySettings({ REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: 'http://etcd:2379', ETCD_PREFIX: '/fleet-a/' }).store).toMatchObject({ prefix: '/fleet-a/' });
  });

  it('names a missing or bad etcd setting and how to fix it', () => {
    expect(() => loadRegistrySettings({ REGISTRY_STORE: 'etcd' })).toThrow(/ETCD_ENDPOINTS=\(unset\): REGISTRY_STORE=etcd needs the etcd client URLs, e\.g\. ETCD_ENDPOINTS=http:\/\/etcd-0:2379/);
    expect(() => loadRegistrySettings({ REGISTRY_STORE: 'redis' })).toThrow('REGISTRY_STORE="redis": expected memory or etcd');
    expect(() => loadRegistrySettings({ REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: 'etcd:2379' })).toThrow(
      'ETCD_ENDPOINTS="etcd:2379": expected http://host:port client URLs separated by commas (e.g. http://etcd-0:2379,http://etcd-1:2379); "etcd:2379" is not one',
    );
    expect(() => loadRegistrySettings({ REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: ' , ' })).toThrow('expected at least one http://host:port client URL');
    expect(() => loadRegistrySettings({ REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: 'http://etcd:2379', ETCD_PREFIX: 'switchyard' })).toThrow(
      'ETCD_PREFIX="switchyard": expected a key prefix that starts and ends with /',
    );
    expect(() => loadRegistrySettings({ ETCD_ENDPOINTS: 'http://etcd:2379' })).toThrow('ETCD_ENDPOINTS is set but REGISTRY_STORE is memory: set REGISTRY_STORE=etcd');
  });
});
