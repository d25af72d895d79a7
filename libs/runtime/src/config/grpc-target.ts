/**
 * Address settings (REGISTRY_ADDRESS and the like) are `host:port`, as in docker-compose.yml
 * (`registry:50051`), or an explicit grpc-js target with one of the schemes below. grpc-js reads a
 * bare `registry:50051` as the target `50051` in the `registry:` scheme, which is the registry
 * resolver's own scheme: every address is therefore turned into an explicit target before a
 * channel sees it.
 */
const EXPLICIT_SCHEMES = ['dns', 'ipv4', 'ipv6', 'unix'] as const;

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const EXPLICIT_TARGET = new RegExp(`^(${EXPLICIT_SCHEMES.join('|')}):.+$`);

/** Whether `address` is `host:port` or an explicit `dns:`, `ipv4:`, `ipv6:` or `unix:` target. */
export function isAddressSetting(address: string): boolean {
  const hostPort = HOST_PORT.exec(address);
  if (hostPort) return Number(hostPort[2]) <= 65535;
  return EXPLICIT_TARGET.test(address);
}

/** The grpc-js target for an address setting: `host:port` becomes `dns:///host:port`; explicit targets are kept. */
export function grpcTarget(address: string): string {
  if (HOST_PORT.test(address)) return `dns:///${address}`;
  if (EXPLICIT_TARGET.test(address)) return address;
  throw new Error(`"${address}" is not host:port nor a dns:, ipv4:, ipv6: or unix: target`);
}
