import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { composeNodeOptions, readComposeEnvironment } from './compose-environment';

describe('readComposeEnvironment', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'compose-environment-'));
    writeFileSync(
      join(root, 'docker-compose.yml'),
      ['services:', '  user:', '    environment:', '      GRPC_PORT: 50052', '      LOG_LEVEL: ${LOG_LEVEL:-info}', '      AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:-}', '  order:', '    environment:', '      - GRPC_PORT=50053', '      - NOTE=a=b', '  nats: {}', ''].join('\n'),
    );
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads both forms of environment as strings, ${NAME:-default} as its default, and leaves empty values out', () => {
    expect(readComposeEnvironment(root)).toEqual({
      user: { GRPC_PORT: '50052', LOG_LEVEL: 'info' },
      order: { GRPC_PORT: '50053', NOTE: 'a=b' },
      nats: {},
    });
  });
});

describe('composeNodeOptions', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'compose-node-options-'));
    writeFileSync(
      join(root, 'docker-compose.yml'),
      [
        'services:',
        '  registry:',
        '    environment:',
        '      NODE_OPTIONS: --max-semi-space-size=32',
        '  user:',
        '    environment:',
        '      GRPC_PORT: "50052"',
        '      LOG_LEVEL: ${LOG_LEVEL:-info}',
        '      AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:-}',
        '  order: {}',
        '  gateway:',
        '    environment:',
        '      - GRPC_PORT=50050',
        '      - NODE_OPTIONS=--max-old-space-size=256',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives an app the NODE_OPTIONS its compose service sets, and nothing to one that sets none', () => {
    expect(composeNodeOptions(root, 'registry')).toEqual({ NODE_OPTIONS: '--max-semi-space-size=32' });
    expect(composeNodeOptions(root, 'user')).toEqual({});
    expect(composeNodeOptions(root, 'order')).toEqual({});
    expect(composeNodeOptions(root, 'gateway')).toEqual({ NODE_OPTIONS: '--max-old-space-size=256' });
  });

  it('names a service the compose file lacks', () => {
    expect(() => composeNodeOptions(root, 'billing')).toThrow('docker-compose.yml has no service "billing"');
  });

  it("reads the repository's own docker-compose.yml for every app", () => {
    const workspaceRoot = resolve(__dirname, '../../..');
    for (const app of ['registry', 'user', 'order', 'gateway']) expect(() => composeNodeOptions(workspaceRoot, app)).not.toThrow();
    expect(composeNodeOptions(workspaceRoot, 'registry').NODE_OPTIONS).toMatch(/--max-semi-space-size=\d+/);
  });
});
