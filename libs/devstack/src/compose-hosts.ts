// Preload for apps run by the e2e tests (`node --require dist/libs/devstack/compose-hosts.js`):
// resolves docker compose's service names, as compose's network would, to the hosts listed in
// SWITCHYARD_COMPOSE_HOSTS (`registry=127.0.0.1,postgres=127.0.0.1,...`), so the apps run with
// the addresses of docker-compose.yml as written (`REGISTRY_ADDRESS=registry:<port>`). Every
// name lookup of Node passes through dns.lookup or dns.promises.lookup at call time: grpc-js
// resolves with dns.promises.lookup, net.connect (pg) with dns.lookup.
import dns from 'node:dns';

type LookupCallback = (...args: unknown[]) => void;

const hosts = new Map(
  (process.env.SWITCHYARD_COMPOSE_HOSTS ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => entry.split('=') as [string, string]),
);

const lookup = dns.lookup;
dns.lookup = function (hostname: string, ...rest: unknown[]) {
  return (lookup as unknown as (hostname: string, ...rest: unknown[]) => void)(hosts.get(hostname) ?? hostname, ...(rest as [LookupCallback]));
} as typeof dns.lookup;

const promisesLookup = dns.promises.lookup;
dns.promises.lookup = function (hostname: string, options?: unknown) {
  return (promisesLookup as (hostname: string, options?: unknown) => Promise<unknown>)(hosts.get(hostname) ?? hostname, options);
} as typeof dns.promises.lookup;

// A compose name has no TXT record (grpc-js asks for a service config): answer at once instead
// of asking the real DNS servers.
const resolveTxt = dns.promises.resolveTxt;
dns.promises.resolveTxt = (hostname: string) => (hosts.has(hostname) ? Promise.resolve([]) : resolveTxt(hostname));
