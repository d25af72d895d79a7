import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { composeNodeOptions } from './compose-node-options';

describe('composeNodeOptions', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'compose-node-options-'));
    writeFileSync(
      join(root, 'docker-compose.yml'),
      ['services:', '  registry:', '    environment:', '      NODE_OPTIONS: --max-semi-space-size=32', '  user:', '    environment:', '      GRPC_PORT: "50052"', '  order: {}', ''].join('\n'),
    );
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives an app the NODE_OPTIONS its compose service sets, and nothing to one that sets none', () => {
    expect(composeNodeOptions(root, 'registry')).toEqual({ NODE_OPTIONS: '--max-semi-space-size=32' });
    expect(composeNodeOptions(root, 'user')).toEqual({});
    expect(composeNodeOptions(root, 'order')).toEqual({});
  });

  it('names a service the compose file lacks', () => {
    expect(() => composeNodeOptions(root, 'gateway')).toThrow('docker-compose.yml has no service "gateway"');
  });

  it("reads the repository's own docker-compose.yml for every app", () => {
    const workspaceRoot = resolve(__dirname, '../../..');
    for (const app of ['registry', 'user', 'order', 'gateway']) expect(() => composeNodeOptions(workspaceRoot, app)).not.toThrow();
    expect(composeNodeOptions(workspaceRoot, 'registry').NODE_OPTIONS).toMatch(/--max-semi-space-size=\d+/);
  });
});
