import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRegistryTokenFile } from './registry-token-file';

describe('ensureRegistryTokenFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'registry-token-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a new random token, readable by its owner only, where none exists (creating the directory)', () => {
    const file = join(dir, 'shared', 'registry-token');
    expect(ensureRegistryTokenFile({ REGISTRY_TOKEN_FILE: file })).toBe(true);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const other = join(dir, 'other');
    ensureRegistryTokenFile({ REGISTRY_TOKEN_FILE: other });
    expect(readFileSync(other, 'utf8').trim()).not.toBe(token);
  });

  it('keeps an existing file: a restarted registry and the apps go on with its token', () => {
    const file = join(dir, 'registry-token');
    writeFileSync(file, 'chosen-token\n');
    expect(ensureRegistryTokenFile({ REGISTRY_TOKEN_FILE: file })).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('chosen-token\n');
  });

  it('writes nothing when REGISTRY_TOKEN is set (it wins) or no file is named', () => {
    const file = join(dir, 'registry-token');
    expect(ensureRegistryTokenFile({ REGISTRY_TOKEN_FILE: file, REGISTRY_TOKEN: 'mine' })).toBe(false);
    expect(ensureRegistryTokenFile({})).toBe(false);
    expect(() => statSync(file)).toThrow();
  });
});
