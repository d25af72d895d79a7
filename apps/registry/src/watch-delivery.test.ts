import { ManualClock } from '@switchyard/runtime/testing';
import { ResourceExhaustedError } from '@switchyard/runtime';
import { WatchDelivery, type WatchStream } from './watch-delivery';

/** A stream whose buffer holds `room` messages until drain() empties it. */
function fakeStream(room: number) {
  const sent: string[] = [];
  let buffered = 0;
  let drainListener: (() => void) | undefined;
  const stream: WatchStream<string> = {
    send(message) {
      sent.push(message);
      buffered += 1;
      return buffered < room;
    },
    onDrain(listener) {
      drainListener = listener;
      return () => (drainListener = undefined);
    },
  };
  return {
    stream,
    sent,
    drain() {
      buffered = 0;
      const listener = drainListener;
      drainListener = undefined;
      listener?.();
    },
  };
}

describe('WatchDelivery', () => {
  const setUp = (room: number) => {
    const clock = new ManualClock();
    const fake = fakeStream(room);
    const stalls: ResourceExhaustedError[] = [];
    let state = 'state-0';
    const delivery = new WatchDelivery({ stream: fake.stream, snapshot: () => `snapshot of ${state}`, stallTimeoutMs: 1000, clock, onStalled: (e) => stalls.push(e) });
    return { clock, fake, stalls, delivery, setState: (s: string) => (state = s) };
  };

  it('sends nothing while the buffer is full, then one fresh snapshot for everything skipped', () => {
    const { fake, delivery, setState, stalls, clock } = setUp(2);
    delivery.deliver('a');
    delivery.deliver('b'); // fills the buffer
    delivery.deliver('c');
    delivery.deliver('d');
    expect(fake.sent).toEqual(['a', 'b']);
    setState('state-4');
    clock.advance(999);
    fake.drain();
    expect(fake.sent).toEqual(['a', 'b', 'snapshot of state-4']);
    delivery.deliver('e'); // fills the buffer again
    expect(fake.sent.at(-1)).toBe('e');
    fake.drain();
    clock.advance(5000); // each drain cancelled its stall timer
    expect(stalls).toEqual([]);
    expect(fake.sent).toEqual(['a', 'b', 'snapshot of state-4', 'e', 'snapshot of state-4']);
  });

  it('gives up on a stream that stays full for stallTimeoutMs, naming the variable, and sends it nothing more', () => {
    const { fake, delivery, stalls, clock } = setUp(1);
    delivery.deliver('a');
    clock.advance(1000);
    expect(stalls.map((e) => e.message)).toEqual(['this Watch stream did not read for 1000 ms and was dropped (REGISTRY_WATCH_STALL_MS); watch again']);
    fake.drain();
    delivery.deliver('b');
    expect(fake.sent).toEqual(['a']);
  });
});
