import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';

export interface RegistryEndpointsOptions<Client extends { close(): void }> {
  /** The registries, in order of preference (REGISTRY_ADDRESS); at least one. */
  addresses: readonly string[];
  /** Makes the client of one address, at its first use. */
  connect: (address: string) => Client;
  /** Whether close() closes the clients connect() made. */
  ownsClients: boolean;
  /** Where moves are logged. */
  logger?: Logger;
  /** Log fields that say whose move it is (e.g. the watched service). */
  logFields?: Record<string, unknown>;
}

/** Whether an error says the registry itself cannot be reached, rather than that it answered no. */
export function isRegistryUnreachable(error: unknown): boolean {
  const code = (error as Partial<ServiceError> | undefined)?.code;
  return code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED;
}

/**
 * Which of several registries to talk to now: the first, until a caller finds it unreachable and
 * moves on to the next (the last wraps to the first). Pacing is the caller's: it moves once per
 * failure and backs off by its count of failures, so a fleet whose registries are all down never
 * spins. Each distinct move is logged once at warn per outage (the caller says when the outage
 * ended with settled()), later rounds through the list at debug.
 */
export class RegistryEndpoints<Client extends { close(): void }> {
  private readonly clients = new Map<string, Client>();
  private index = 0;
  private readonly warned = new Set<string>();

  constructor(private readonly options: RegistryEndpointsOptions<Client>) {
    if (options.addresses.length === 0) throw new Error('RegistryEndpoints: no registry address; set REGISTRY_ADDRESS');
  }

  /** The registry in use now. */
  get address(): string {
    return this.options.addresses[this.index];
  }

  /** The client of the registry in use now. */
  get client(): Client {
    return this.clientOf(this.address);
  }

  /** How many registries there are to move between. */
  get count(): number {
    return this.options.addresses.length;
  }

  /** The other registries, in the order a move would reach them. */
  others(): { address: string; client: Client }[] {
    const { addresses } = this.options;
    return addresses.slice(1).map((_, i) => {
      const address = addresses[(this.index + 1 + i) % addresses.length];
      return { address, client: this.clientOf(address) };
    });
  }

  /**
   * Moves to the next registry because `from` failed (`action`, `error`); a no-op when `from` is no
   * longer the one in use, or when there is only one. Returns whether it moved. Either way the
   * client of `from` is dropped, so the next call to it dials anew (see reconnect).
   */
  moveOn(from: string, action: string, error: unknown): boolean {
    this.reconnect(from);
    if (this.count === 1 || from !== this.address) return false;
    this.index = (this.index + 1) % this.count;
    const to = this.address;
    const fields = { ...this.options.logFields, from_registry: from, to_registry: to, err: error };
    const move = `${from}>${to}`;
    if (this.warned.has(move)) this.options.logger?.debug(fields, `registry at ${from} still unreachable (${action}); trying ${to}`);
    else {
      this.warned.add(move);
      this.options.logger?.warn(fields, `registry at ${from} unreachable (${action}); moving to ${to}`);
    }
    return true;
  }

  /** The registry in use answered: the next outage's moves are worth a warning again. */
  settled(): void {
    this.warned.clear();
  }

  close(): void {
    if (this.options.ownsClients) for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /**
   * Closes and forgets the client of `address` (when this owns it); the next use makes a new one.
   * grpc-js has no connect timeout and resolves a name again only after a connection attempt
   * fails: a registry that came back at a new address (a recreated container keeps its name, not
   * its IP) would be dialled at the old one until the kernel gives up its SYN retries, about two
   * minutes, and leases lapse meanwhile. A new channel resolves the name at once.
   */
  private reconnect(address: string): void {
    if (!this.options.ownsClients) return;
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  private clientOf(address: string): Client {
    let client = this.clients.get(address);
    if (!client) this.clients.set(address, (client = this.options.connect(address)));
    return client;
  }
}
