import type { NetworkInterfaceInfo } from 'node:os';
import { detectAdvertiseHost, resolveAdvertiseAddress, type AddressSources } from './advertise-address';
import { ConfigError } from './env-config';
import { loadServiceConfig } from './service-config';

const lo: NetworkInterfaceInfo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' };
const ipv4 = (address: string): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` });
const ipv6 = (address: string): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid: 0 });

function sources(resolved: string[] | NodeJS.ErrnoException, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {}): AddressSources {
  return {
    hostname: () => 'user-2',
    lookup: async () => {
      if (resolved instanceof Error) throw resolved;
      return resolved.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    networkInterfaces: () => interfaces,
  };
}
const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND user-2'), { code: 'ENOTFOUND' });

describe('detectAdvertiseHost', () => {
  it('takes the address the hostname resolves to, as a container on a compose network has', async () => {
    expect(await detectAdvertiseHost(sources(['172.18.0.5'], { lo: [lo], eth0: [ipv4('10.0.0.9')] }))).toEqual({ host: '172.18.0.5', source: 'hostname', from: 'user-2' });
  });

  it('skips loopback, unspecified and link-local answers of the lookup for the first usable one', async () => {
    expect((await detectAdvertiseHost(sources(['127.0.1.1', '::1', 'fe80::1', '169.254.3.3', 'fd00::7']))).host).toBe('fd00::7');
  });

  it('falls back to the first non-internal IPv4 interface when the hostname resolves only to loopback', async () => {
    const interfaces = { lo: [lo], eth0: [ipv6('fd00::2'), ipv4('192.0.2.2')], eth1: [ipv4('198.51.100.4')] };
    expect(await detectAdvertiseHost(sources(['127.0.0.1'], interfaces))).toEqual({ host: '192.0.2.2', source: 'interface', from: 'eth0' });
  });

  it('falls back to the interfaces when the hostname does not resolve', async () => {
    expect(await detectAdvertiseHost(sources(notFound, { lo: [lo], wlan0: [ipv4('10.1.2.3')] }))).toEqual({ host: '10.1.2.3', source: 'interface', from: 'wlan0' });
  });

  it('fails naming ADVERTISE_ADDRESS, what it found and what to set when nothing else could dial this machine', async () => {
    const failure = detectAdvertiseHost(sources(['127.0.0.1'], { lo: [lo], eth0: [ipv6('fd00::2')] }));
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(/ADVERTISE_ADDRESS="auto".*hostname "user-2" resolves only to 127\.0\.0\.1.*Set ADVERTISE_ADDRESS to the host:port/s);
    await expect(detectAdvertiseHost(sources(notFound, {}))).rejects.toThrow(/hostname "user-2" does not resolve \(ENOTFOUND\)/);
  });
});

describe('resolveAdvertiseAddress', () => {
  const logger = () => {
    const lines: { fields: object; message: string }[] = [];
    return { lines, info: (fields: object, message: string) => void lines.push({ fields, message }) };
  };

  it('adds the bound port to the detected host, in brackets for IPv6, and logs what it picked and how', async () => {
    const log = logger();
    expect(await resolveAdvertiseAddress('auto', 41234, log as never, sources(['10.0.0.7']))).toBe('10.0.0.7:41234');
    expect(log.lines).toEqual([{ fields: { address: '10.0.0.7:41234', source: 'hostname', from: 'user-2' }, message: expect.stringContaining('advertising 10.0.0.7:41234') }]);
    expect(await resolveAdvertiseAddress('auto', 41235, log as never, sources(['fd00::7']))).toBe('[fd00::7]:41235');
    await resolveAdvertiseAddress('auto', 41236, log as never, sources(notFound, { eth0: [ipv4('10.1.2.3')] }));
    expect(log.lines[2].message).toMatch(/interface eth0/);
  });

  it('keeps a host:port as set, and is 127.0.0.1 with the bound port when unset, without a lookup', async () => {
    const log = logger();
    const failing = sources(notFound);
    expect(await resolveAdvertiseAddress('user:50052', 41234, log as never, failing)).toBe('user:50052');
    expect(await resolveAdvertiseAddress(undefined, 41234, log as never, failing)).toBe('127.0.0.1:41234');
    expect(log.lines).toEqual([]);
  });
});

describe('ADVERTISE_ADDRESS', () => {
  it('accepts auto and host:port, and names what it expects otherwise', () => {
    expect(loadServiceConfig('user', { ADVERTISE_ADDRESS: 'auto' }).advertiseAddress).toBe('auto');
    expect(loadServiceConfig('user', { ADVERTISE_ADDRESS: 'user:50052' }).advertiseAddress).toBe('user:50052');
    expect(() => loadServiceConfig('user', { ADVERTISE_ADDRESS: 'automatic' })).toThrow('ADVERTISE_ADDRESS="automatic": expected host:port (e.g. user:50052) or auto');
  });
});
