import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { composeNodeOptions, composeServiceEnvironments } from './compose-environment';

/** A workspace holding only a docker-compose.yml of `lines`, for each test of the block, removed after it. */
function composeWorkspace(lines: string[]): { root: string } {
  const workspace = { root: '' };
  beforeEach(() => {
    workspace.root = mkdtempSync(join(tmpdir(), 'compose-environment-'));
    writeFileSync(join(workspace.root, 'docker-compose.yml'), [...lines, ''].join('\n'));
  });
  afterEach(() => rmSync(workspace.root, { recursive: true, force: true }));
  return workspace;
}

describe('composeServiceEnvironments', () => {
  const workspace = composeWorkspace(['services:', '  user:', '    environment:', '      GRPC_PORT: 50052', '      LOG_LEVEL: ${LOG_LEVEL:-info}', '      AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:-}', '  order:', '    environment:', '      - GRPC_PORT=50053', '      - NOTE=a=b', '  nats: {}']);

  it('reads both forms of environment as strings, ${NAME:-default} as its default, and leaves empty values out', () => {
    expect(composeServiceEnvironments(workspace.root)).toEqual({
      user: { GRPC_PORT: '50052', LOG_LEVEL: 'info' },
      order: { GRPC_PORT: '50053', NOTE: 'a=b' },
      nats: {},
    });
  });
});

describe('composeNodeOptions', () => {
  const workspace = composeWorkspace([
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
  ]);

  it('gives an app the NODE_OPTIONS its compose service sets, and nothing to one that sets none', () => {
    expect(composeNodeOptions(workspace.root, 'registry')).toEqual({ NODE_OPTIONS: '--max-semi-space-size=32' });
    expect(composeNodeOptions(workspace.root, 'user')).toEqual({});
    expect(composeNodeOptions(workspace.root, 'order')).toEqual({});
    expect(composeNodeOptions(workspace.root, 'gateway')).toEqual({ NODE_OPTIONS: '--max-old-space-size=256' });
  });

  it('names a service the compose file lacks', () => {
    expect(() => composeNodeOptions(workspace.root, 'billing')).toThrow('docker-compose.yml has no service "billing"');
  });

  it("reads the repository's own docker-compose.yml for every app", () => {
    const workspaceRoot = resolve(__dirname, '../../..');
    for (const app of ['registry', 'user', 'order', 'gateway']) expect(() => composeNodeOptions(workspaceRoot, app)).not.toThrow();
    expect(composeNodeOptions(workspaceRoot, 'registry').NODE_OPTIONS).toMatch(/--max-semi-space-size=\d+/);
  });
});
