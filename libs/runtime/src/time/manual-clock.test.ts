import { ManualClock } from './manual-clock';

describe('ManualClock', () => {
  it('fires what falls due, in time order, each at its own time, and nothing early', () => {
    const clock = new ManualClock(1000);
    const fired: [string, number][] = [];
    clock.schedule(300, () => fired.push(['b', clock.now()]));
    clock.schedule(100, () => fired.push(['a', clock.now()]));
    clock.schedule(300, () => fired.push(['c', clock.now()]));
    clock.advance(299);
    expect(fired).toEqual([['a', 1100]]);
    clock.advance(1);
    expect(fired).toEqual([['a', 1100], ['b', 1300], ['c', 1300]]);
    expect(clock.now()).toBe(1300);
    expect(clock.pending()).toBe(0);
  });

  it('fires callbacks scheduled by callbacks within the same advance, and never a cancelled one', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.schedule(10, () => clock.schedule(10, () => fired.push(clock.now())));
    const cancel = clock.schedule(15, () => fired.push(-1));
    cancel();
    clock.advance(25);
    expect(fired).toEqual([20]);
    expect(clock.now()).toBe(25);
  });
});
