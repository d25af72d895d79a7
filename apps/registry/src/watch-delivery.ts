import { ResourceExhaustedError, type Clock } from '@switchyard/runtime';

/** The parts of a stream's context that delivery needs. */
export interface WatchStream<Message> {
  send(message: Message): boolean;
  onDrain(listener: () => void): () => void;
}

export interface WatchDeliveryOptions<Message> {
  stream: WatchStream<Message>;
  /** A snapshot of the service now, sent when a full buffer drains in place of what was skipped. */
  snapshot: () => Message;
  /** How long the stream's buffer may stay full before the watcher is dropped (REGISTRY_WATCH_STALL_MS). */
  stallTimeoutMs: number;
  clock: Clock;
  /** Called once when the buffer stayed full past stallTimeoutMs, with the error to end the stream with. */
  onStalled: (error: ResourceExhaustedError) => void;
}

/**
 * Sends one watcher its events without ever buffering more than the stream's own buffer: while
 * that is full, events are skipped, and when it drains one fresh snapshot stands for all of them
 * (watchers replace their list on every snapshot). A watcher that does not read for
 * stallTimeoutMs is given up.
 */
export class WatchDelivery<Message> {
  private blocked = false;
  private cancelDrain: (() => void) | undefined;
  private cancelStall: (() => void) | undefined;
  private stalled = false;

  constructor(private readonly options: WatchDeliveryOptions<Message>) {}

  deliver(message: Message): void {
    if (this.blocked || this.stalled) return;
    if (!this.options.stream.send(message)) this.block();
  }

  /** Stops waiting for a drain or a stall. */
  close(): void {
    this.cancelDrain?.();
    this.cancelStall?.();
  }

  private block(): void {
    this.blocked = true;
    this.cancelDrain = this.options.stream.onDrain(() => {
      this.cancelStall?.();
      this.blocked = false;
      this.deliver(this.options.snapshot());
    });
    this.cancelStall = this.options.clock.schedule(this.options.stallTimeoutMs, () => {
      this.stalled = true;
      this.cancelDrain?.();
      this.options.onStalled(
        new ResourceExhaustedError(
          `this Watch stream did not read for ${this.options.stallTimeoutMs} ms and was dropped (REGISTRY_WATCH_STALL_MS); watch again`,
        ),
      );
    });
  }
}
