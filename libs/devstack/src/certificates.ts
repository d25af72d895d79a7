import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its private key, as PEM file paths. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** Subject common name. */
  commonName: string;
  /** SAN DNS names, e.g. `user`, `localhost`. */
  dnsNames?: string[];
  /** SAN IP addresses, e.g. `127.0.0.1`. */
  ipAddresses?: string[];
  /** Validity. Default: from an hour ago (clock skew between hosts) for `days` days. */
  notBefore?: Date;
  notAfter?: Date;
  /** Default 825, the longest validity clients accept for a server certificate. */
  days?: number;
}

const OPENSSL = process.env.OPENSSL ?? 'openssl';

function openssl(args: string[]): void {
  try {
    execFileSync(OPENSSL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed${stderr ? `: ${stderr}` : ` (${(error as Error).message})`}`);
  }
}

/** openssl ca's time format: YYYYMMDDHHMMSSZ. */
function asn1Time(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

// The apps' keys are readable by every user: the containers of docker-compose.tls.yml run as
// `node`, not as the user who made them. These are certificates for a local stack, not a
// production PKI. The CA's key, which nothing but this script reads, stays private.
function newKey(path: string, mode: number): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, mode);
}

/** A self-signed certificate authority (P-256, valid ten years) at `<dir>/<name>.crt` and `.key`. */
export function makeCertificateAuthority(dir: string, name: string, commonName: string): CertificateFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  newKey(files.key, 0o600);
  openssl([
    'req', '-x509', '-new', '-key', files.key, '-out', files.cert, '-days', '3650', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files;
}

/**
 * A certificate signed by `ca`, for both ends of a connection (serverAuth and clientAuth), at
 * `<dir>/<name>.crt` and `.key`. `openssl ca` rather than `openssl x509`, because OpenSSL 3.0's
 * x509 cannot set the start date, and tests need certificates that expired.
 */
export function makeCertificate(ca: CertificateFiles, dir: string, name: string, options: CertificateOptions): CertificateFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.days ?? 825) * 86_400_000);
  const sans = [...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  const work = mkdtempSync(join(dir, `.${name}-`));
  try {
    const csr = join(work, 'request.csr');
    const extensions = join(work, 'extensions.cnf');
    const config = join(work, 'ca.cnf');
    writeFileSync(join(work, 'index.txt'), '');
    writeFileSync(join(work, 'serial'), '01\n');
    writeFileSync(
      extensions,
      ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', sans.length > 0 ? `subjectAltName=${sans.join(',')}` : '']
        .filter(Boolean)
        .join('\n'),
    );
    writeFileSync(
      config,
      ['[ca]', 'default_ca=local', '[local]', `database=${join(work, 'index.txt')}`, `new_certs_dir=${work}`, `serial=${join(work, 'serial')}`, 'default_md=sha256', 'policy=any', 'unique_subject=no', '[any]', 'commonName=supplied'].join('\n'),
    );
    newKey(files.key, 0o644);
    openssl(['req', '-new', '-key', files.key, '-out', csr, '-subj', `/CN=${options.commonName}`]);
    openssl([
      'ca', '-batch', '-notext', '-rand_serial', '-config', config, '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', files.cert,
      '-extfile', extensions, '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter),
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return files;
}

export const SERVICE_NAMES = ['registry', 'user', 'order', 'gateway'] as const;
/** The certificate for people and tools (grpcurl) calling the apps: SAN `client`, no server names. */
export const CLIENT_NAME = 'client';

export interface ServiceCertificatesOptions {
  dir: string;
  /** Extra SAN names on every certificate (the advertised host when it is not the service name). */
  extraHosts?: string[];
}

export interface ServiceCertificates {
  ca: CertificateFiles;
  services: Record<(typeof SERVICE_NAMES)[number], CertificateFiles>;
  client: CertificateFiles;
  /** What this run made, and what it kept from an earlier one, as paths. */
  made: string[];
  kept: string[];
}

const isIpAddress = (host: string) => /^[\d.]+$|:/.test(host);

/**
 * A local CA (`ca.crt`, `ca.key`) and a certificate per service (`<service>.crt`, `.key`) in
 * `dir`, each with SAN = the service name, localhost, 127.0.0.1, ::1 and `extraHosts`, and
 * `client.crt` for grpcurl. Idempotent: files already there are kept, except that a new CA means
 * new certificates.
 */
export function makeServiceCertificates(options: ServiceCertificatesOptions): ServiceCertificates {
  const { dir } = options;
  const made: string[] = [];
  const kept: string[] = [];
  const caFiles = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const caExists = existsSync(caFiles.cert) && existsSync(caFiles.key);
  const ca = caExists ? caFiles : makeCertificateAuthority(dir, 'ca', 'Switchyard local CA');
  (caExists ? kept : made).push(ca.cert);
  const extraHosts = options.extraHosts ?? [];
  const certificate = (name: string, dnsNames: string[], ipAddresses: string[]): CertificateFiles => {
    const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    if (caExists && existsSync(files.cert) && existsSync(files.key)) {
      kept.push(files.cert);
      return files;
    }
    made.push(files.cert);
    return makeCertificate(ca, dir, name, { commonName: name, dnsNames: [...new Set(dnsNames)], ipAddresses });
  };
  const services = {} as ServiceCertificates['services'];
  for (const service of SERVICE_NAMES) {
    const hosts = [service, 'localhost', ...extraHosts];
    services[service] = certificate(service, hosts.filter((host) => !isIpAddress(host)), ['127.0.0.1', '::1', ...extraHosts.filter(isIpAddress)]);
  }
  const client = certificate(CLIENT_NAME, [CLIENT_NAME], []);
  return { ca, services, client, made, kept };
}
