import { promises as dns } from 'node:dns';
import { hostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, hostPortVariable } from './env-config';

/** ADVERTISE_ADDRESS=auto: this machine's own address, found at start, and the port actually bound. */
export const AUTO_ADVERTISE_ADDRESS = 'auto';

/** ADVERTISE_ADDRESS: `host:port`, or `auto`. */
export const advertiseAddressVariable = () => {
  const hostPort = hostPortVariable();
  return z.string().refine((value) => value === AUTO_ADVERTISE_ADDRESS || hostPort.safeParse(value).success, 'expected host:port (e.g. user:50052) or auto');
};

/** Where the detection looks; injected by tests. */
export interface AddressSources {
  hostname: () => string;
  /** Every address the name resolves to, as dns.promises.lookup with `all: true` answers. */
  lookup: (name: string) => Promise<{ address: string; family: number }[]>;
  networkInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

export const SYSTEM_ADDRESS_SOURCES: AddressSources = {
  hostname,
  lookup: (name) => dns.lookup(name, { all: true }),
  networkInterfaces,
};

export interface DetectedHost {
  host: string;
  /** How it was found, for the start-up log line. */
  source: 'hostname' | 'interface';
  /** The hostname looked up, or the interface's name. */
  from: string;
}

/**
 * Loopback, unspecified and link-local addresses reach nothing outside this machine (link-local
 * also needs a zone id to dial), so they are never advertised.
 */
function reachableFromOthers(address: string): boolean {
  const lower = address.toLowerCase();
  if (isIP(lower) === 4) return !lower.startsWith('127.') && lower !== '0.0.0.0' && !lower.startsWith('169.254.');
  if (isIP(lower) === 6) return lower !== '::1' && lower !== '::' && !lower.startsWith('fe80:') && !lower.startsWith('::ffff:127.');
  return false;
}

/**
 * This machine's address for ADVERTISE_ADDRESS=auto: the first usable address its hostname
 * resolves to (in a container, its address on the compose network), else the first non-internal
 * IPv4 address of its interfaces (a host whose name resolves to loopback, as many do).
 */
export async function detectAdvertiseHost(sources: AddressSources = SYSTEM_ADDRESS_SOURCES): Promise<DetectedHost> {
  const name = sources.hostname();
  let lookupNote: string;
  try {
    const resolved = await sources.lookup(name);
    const usable = resolved.find((entry) => reachableFromOthers(entry.address));
    if (usable) return { host: usable.address, source: 'hostname', from: name };
    lookupNote = `hostname ${JSON.stringify(name)} resolves only to ${resolved.map((entry) => entry.address).join(', ') || 'nothing'}`;
  } catch (error) {
    lookupNote = `hostname ${JSON.stringify(name)} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  for (const [interfaceName, addresses] of Object.entries(sources.networkInterfaces())) {
    const ipv4 = addresses?.find((entry) => entry.family === 'IPv4' && !entry.internal && reachableFromOthers(entry.address));
    if (ipv4) return { host: ipv4.address, source: 'interface', from: interfaceName };
  }
  throw new ConfigError(
    `invalid configuration:\n  ADVERTISE_ADDRESS="auto": no address other apps could dial: ${lookupNote}, and no network interface has a non-internal IPv4 address. ` +
      'Set ADVERTISE_ADDRESS to the host:port the other apps reach this instance at (e.g. user:50052), or leave it unset for 127.0.0.1:<port>.',
  );
}

/** `host:port`, with an IPv6 host in brackets. */
function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * What other apps dial to reach this instance: ADVERTISE_ADDRESS as set; for `auto`, the detected
 * address and `boundPort` (so GRPC_PORT=0 works), logged with how it was found; unset,
 * `127.0.0.1:<boundPort>`.
 */
export async function resolveAdvertiseAddress(
  setting: string | undefined,
  boundPort: number,
  logger: Pick<Logger, 'info'>,
  sources: AddressSources = SYSTEM_ADDRESS_SOURCES,
): Promise<string> {
  if (setting === undefined) return `127.0.0.1:${boundPort}`;
  if (setting !== AUTO_ADVERTISE_ADDRESS) return setting;
  const detected = await detectAdvertiseHost(sources);
  const address = joinHostPort(detected.host, boundPort);
  const how = detected.source === 'hostname' ? `the address hostname ${detected.from} resolves to` : `the first non-internal IPv4 address, of interface ${detected.from}`;
  logger.info({ address, source: detected.source, from: detected.from }, `ADVERTISE_ADDRESS=auto: advertising ${address}, ${how}`);
  return address;
}
