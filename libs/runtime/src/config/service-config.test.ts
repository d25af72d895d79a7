import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './env-config';
import { DEFAULT_SERVER_LIMITS } from './server-limits-config';
import { loadServiceConfig } from './service-config';

describe('loadServiceConfig', () => {
  it('applies the documented defaults per app', () => {
    const config = loadServiceConfig('order', {});
    expect(config).toMatchObject({
      app: 'order',
      grpcHost: '0.0.0.0',
      grpcPort: 50053,
      registryAddresses: ['127.0.0.1:50051'],
      advertiseAddress: undefined,
      dataDir: './data',
      databaseUrl: undefined,
      logLevel: 'info',
      logFormat: 'json',
      defaultDeadlineMs: 5000,
      databaseStatementTimeoutMs: 5000,
      limits: DEFAULT_SERVER_LIMITS,
    });
    expect(loadServiceConfig('gateway', {}).grpcPort).toBe(50050);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadServiceConfig('user', {
      GRPC_PORT: '6000',
      ADVERTISE_ADDRESS: 'user:6000',
      REGISTRY_ADDRESS: 'registry:50051',
      DATA_DIR: '/tmp/x',
      DATABASE_URL: 'postgres://postgres@db:5432/app',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
      DEFAULT_DEADLINE_MS: '750',
      DATABASE_STATEMENT_TIMEOUT_MS: '2500',
      GRPC_MAX_CONCURRENT_STREAMS: '500',
    });
    expect(config).toMatchObject({
      databaseStatementTimeoutMs: 2500,
      limits: { ...DEFAULT_SERVER_LIMITS, maxConcurrentStreams: 500 },
      grpcPort: 6000,
      advertiseAddress: 'user:6000',
      registryAddresses: ['registry:50051'],
      dataDir: '/tmp/x',
      databaseUrl: 'postgres://postgres@db:5432/app',
      logLevel: 'debug',
      logFormat: 'pretty',
      defaultDeadlineMs: 750,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadServiceConfig('user', { GRPC_PORT: '', DATABASE_URL: '' })).toMatchObject({ grpcPort: 50052, databaseUrl: undefined });
  });

  it('names every bad variable, its value and what it expects', () => {
    let error: unknown;
    try {
      loadServiceConfig('user', { GRPC_PORT: 'abc', REGISTRY_ADDRESS: 'nowhere', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('GRPC_PORT="abc": expected a port number');
    expect(message).toContain('REGISTRY_ADDRESS="nowhere": expected host:port');
    expect(message).toMatch(/LOG_LEVEL="loud": .*info/);
    expect(message).toContain('DATABASE_URL=(hidden): expected postgres://');
  });

  it('names a bad DATABASE_URL without showing it: it may carry a password', () => {
    const secret = 'pw-in-a-bad-url';
    let message = '';
    try {
      loadServiceConfig('user', { DATABASE_URL: `mysql://app:${secret}@db/app?password=${secret}`, GRPC_PORT: 'abc' });
    } catch (caught) {
      message = (caught as Error).message;
    }
    expect(message).toContain('DATABASE_URL=(hidden): expected postgres://');
    expect(message).toContain('GRPC_PORT="abc"');
    expect(message).not.toContain(secret);
  });

  it('takes REGISTRY_ADDRESS as host:port or an explicit target, never a registry:/// target', () => {
    expect(loadServiceConfig('user', { REGISTRY_ADDRESS: 'dns:///registry.internal:50051' }).registryAddresses).toEqual(['dns:///registry.internal:50051']);
    expect(() => loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry:///registry' })).toThrow('REGISTRY_ADDRESS="registry:///registry": expected host:port');
  });

  describe('REGISTRY_ADDRESS with several registries', () => {
    it('takes a comma-separated list, in order, spaces around the commas allowed', () => {
      expect(loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry-a:50051, registry-b:50051,dns:///registry-c:50051' }).registryAddresses).toEqual([
        'registry-a:50051',
        'registry-b:50051',
        'dns:///registry-c:50051',
      ]);
    });

    it('keeps a single address a list of one', () => {
      expect(loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry:50051' }).registryAddresses).toEqual(['registry:50051']);
    });

    it('names the bad entry', () => {
      expect(() => loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry-a:50051,registry-b' })).toThrow(
        'REGISTRY_ADDRESS="registry-a:50051,registry-b": expected host:port, e.g. registry:50051, or a dns:, ipv4:, ipv6: or unix: target; several are comma-separated; "registry-b" is neither',
      );
    });

    it('refuses an empty entry (a stray comma)', () => {
      expect(() => loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry-a:50051,' })).toThrow('entry 2 is empty (a stray comma?)');
    });

    it('refuses the same address twice', () => {
      expect(() => loadServiceConfig('user', { REGISTRY_ADDRESS: 'registry-a:50051,registry-b:50051, registry-a:50051' })).toThrow(
        'REGISTRY_ADDRESS="registry-a:50051,registry-b:50051, registry-a:50051": "registry-a:50051" is listed twice; list each address once',
      );
    });
  });

  it('rejects a port out of range', () => {
    expect(() => loadServiceConfig('user', { GRPC_PORT: '70000' })).toThrow('GRPC_PORT="70000": expected a port from 0 to 65535');
  });

  describe('REGISTRY_TOKEN_FILE', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'registry-token-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the token from the file, trimmed, when REGISTRY_TOKEN is unset', () => {
      const file = join(dir, 'token');
      writeFileSync(file, 'from-the-file\n');
      expect(loadServiceConfig('user', { REGISTRY_TOKEN_FILE: file }).registryToken).toBe('from-the-file');
      expect(loadServiceConfig('user', { REGISTRY_TOKEN_FILE: file, REGISTRY_TOKEN: '' }).registryToken).toBe('from-the-file');
    });

    it('lets REGISTRY_TOKEN win', () => {
      expect(loadServiceConfig('user', { REGISTRY_TOKEN_FILE: join(dir, 'missing'), REGISTRY_TOKEN: 'mine' }).registryToken).toBe('mine');
    });

    it('names the variable when the file is missing or empty', () => {
      const missing = join(dir, 'missing');
      expect(() => loadServiceConfig('user', { REGISTRY_TOKEN_FILE: missing })).toThrow(new ConfigError(
        `invalid configuration:\n  REGISTRY_TOKEN_FILE=${JSON.stringify(missing)}: cannot read it (ENOENT); the registry writes it at its first start, or set REGISTRY_TOKEN`,
      ));
      writeFileSync(join(dir, 'empty'), '\n');
      expect(() => loadServiceConfig('user', { REGISTRY_TOKEN_FILE: join(dir, 'empty') })).toThrow(/REGISTRY_TOKEN_FILE=.*the file is empty/);
    });
  });
});
