// Test support: clients that dial ports before anything serves there, as grpcurl run too early or
// a readiness probe looping would: per port, one connection held open (made again whenever it
// closes), connections opened and closed at once, and gRPC health checks.
import { connect, type Socket } from 'node:net';
import { checkHealth } from './health-check';

export class EarlyClientProbes {
  /** Ports whose health check has answered SERVING. */
  readonly serving = new Set<number>();
  private readonly sockets = new Set<Socket>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly ports: number[]) {
    for (const port of ports) {
      this.hold(port);
      this.every(100, () => this.track(connect(port, '127.0.0.1', function (this: Socket) { this.destroy(); })));
      this.every(200, () => void checkHealth(`127.0.0.1:${port}`, '', 500).then((status) => status === 'SERVING' && this.serving.add(port), () => undefined));
    }
  }

  get allServing(): boolean {
    return this.ports.every((port) => this.serving.has(port));
  }

  stop(): void {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.sockets.forEach((socket) => socket.destroy());
  }

  private hold(port: number): void {
    if (this.stopped) return;
    const socket = this.track(connect(port, '127.0.0.1'));
    socket.once('close', () => setTimeout(() => this.hold(port), 100));
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  private every(ms: number, action: () => void): void {
    this.timers.push(setInterval(() => !this.stopped && action(), ms));
  }
}
