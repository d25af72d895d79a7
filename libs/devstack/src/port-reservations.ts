import { createServer, type Server } from 'node:net';

/**
 * Holds ports until the apps meant for them start. The apps start one after another, and the
 * ones already running open connections (to the registry, health probes) whose local ports the
 * kernel picks from its ephemeral range, which contains the default ports 50050-50053 and every
 * port freePort() hands out. A port with a listening socket on it is never picked, so each
 * port stays held until just before its app binds it.
 *
 * A held port never keeps a connection: a client that dials it early (grpcurl, a readiness probe)
 * is reset at once and sees UNAVAILABLE, as if nothing listened, and retries. A connection kept
 * open would hold up the release, and the app would never start.
 */
export class PortReservations {
  private readonly held = new Map<number, Server>();

  /** Listens on each port (all interfaces, as the apps bind); fails if one is already taken (the error's `code` is EADDRINUSE, its `port` the port). */
  static async hold(ports: number[]): Promise<PortReservations> {
    const reservations = new PortReservations();
    try {
      for (const port of ports) await reservations.holdOne(port);
    } catch (error) {
      await reservations.releaseAll();
      throw error;
    }
    return reservations;
  }

  /** Frees `port` for the app about to bind it. */
  async release(port: number): Promise<void> {
    const server = this.held.get(port);
    if (!server) return;
    this.held.delete(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((port) => this.release(port)));
  }

  private holdOne(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true }, (socket) => socket.resetAndDestroy());
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          Object.assign(new Error(error.code === 'EADDRINUSE' ? `port ${port} is already in use (is npm start running already?)` : `cannot hold port ${port}: ${error.message}`), {
            code: error.code,
            port,
          }),
        ),
      );
      server.listen(port, () => {
        this.held.set(port, server);
        resolve();
      });
    });
  }
}
