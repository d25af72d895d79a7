import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './env-config';
import { loadTlsConfig } from './tls-config';

// Two self-signed certificates with their keys, made by openssl as `npm run certs` makes them.
const dir = mkdtempSync(join(tmpdir(), 'tls-config-'));
function selfSigned(name: string) {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '1', '-subj', `/CN=${name}`], {
    stdio: 'ignore',
  });
  return files;
}
const app = selfSigned('app');
const other = selfSigned('other');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configErrorOf(env: Record<string, string>): string {
  try {
    loadTlsConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const keyBody = (path: string) => readFileSync(path, 'utf8').split('\n')[1]!;

describe('loadTlsConfig', () => {
  it('is off with none of the variables', () => {
    expect(loadTlsConfig({})).toBeUndefined();
    expect(loadTlsConfig({ TLS_CERT: '', TLS_KEY: '', TLS_CA: '' })).toBeUndefined();
  });

  it('reads the three files', () => {
    const tls = loadTlsConfig({ TLS_CERT: app.cert, TLS_KEY: app.key, TLS_CA: other.cert });
    expect(tls?.cert.equals(readFileSync(app.cert))).toBe(true);
    expect(tls?.key.equals(readFileSync(app.key))).toBe(true);
    expect(tls?.ca.equals(readFileSync(other.cert))).toBe(true);
  });

  it('names the variables missing when only some are set', () => {
    const message = configErrorOf({ TLS_CERT: app.cert });
    expect(message).toContain('TLS_KEY=(unset)');
    expect(message).toContain('TLS_CA=(unset)');
    expect(message).not.toContain('TLS_CERT=(unset)');
    expect(message).toContain('all three of TLS_CERT, TLS_KEY and TLS_CA');
  });

  it('names each file it cannot read, and why', () => {
    const message = configErrorOf({ TLS_CERT: app.cert, TLS_KEY: join(dir, 'missing.key'), TLS_CA: dir });
    expect(message).toContain(`TLS_KEY="${join(dir, 'missing.key')}": cannot read the file (no such file)`);
    expect(message).toContain(`TLS_CA="${dir}": cannot read the file (is a directory)`);
  });

  it('names a file that is not what it should be, without printing any of it', () => {
    // The key given as the certificate, the certificate as the key: a swap.
    const message = configErrorOf({ TLS_CERT: app.key, TLS_KEY: app.cert, TLS_CA: other.cert });
    expect(message).toContain(`TLS_CERT="${app.key}": not a PEM certificate`);
    expect(message).toContain(`TLS_KEY="${app.cert}": not a PEM private key`);
    expect(message).not.toContain(keyBody(app.key));
    expect(message).not.toContain('PRIVATE KEY');
  });

  it('names a key that does not belong to the certificate', () => {
    const message = configErrorOf({ TLS_CERT: app.cert, TLS_KEY: other.key, TLS_CA: other.cert });
    expect(message).toContain(`TLS_KEY="${other.key}": not the private key of TLS_CERT`);
    expect(message).not.toContain(keyBody(other.key));
  });

  it('hides a key whose text is unreadable by a parser too', () => {
    const garbled = join(dir, 'garbled.key');
    writeFileSync(garbled, '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n');
    const message = configErrorOf({ TLS_CERT: app.cert, TLS_KEY: garbled, TLS_CA: other.cert });
    expect(message).toContain('TLS_KEY=');
    expect(message).not.toContain('c2VjcmV0LWtleS1ieXRlcw');
  });
});
