import type { Server } from '@grpc/grpc-js';

interface Closable {
  close(): void;
}

/**
 * Servers and clients a test opens, closed after each test: the clients (and client factories)
 * first, then the servers they talk to, whatever order they were opened in.
 */
export function closeAfterEach(): { client<C extends Closable>(client: C): C; server(server: Server): Server } {
  let clients: Closable[] = [];
  let servers: Server[] = [];
  afterEach(() => {
    for (const client of clients) client.close();
    for (const server of servers) server.forceShutdown();
    clients = [];
    servers = [];
  });
  return {
    client: (client) => (clients.push(client), client),
    server: (server) => (servers.push(server), server),
  };
}
