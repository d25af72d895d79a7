import { parseBenchOptions, USAGE, UsageError } from './bench-options';

const KNOWN = ['unary', 'fanout'];

describe('parseBenchOptions', () => {
  it('warms up for 20% of the duration, in whole milliseconds', () => {
    // 0.2 * 6 is 1.2000000000000002 in floating point, which the report printed as the warm-up.
    const options = parseBenchOptions([], KNOWN);
    expect(options.durationMs).toBe(6000);
    expect(options.warmupMs).toBe(1200);
    expect(parseBenchOptions(['--duration', '2.5'], KNOWN).warmupMs).toBe(1000);
    expect(parseBenchOptions(['--duration', '30'], KNOWN).warmupMs).toBe(3000);
  });

  it('chooses a group of scenarios by the name before their dash', () => {
    const known = ['unary', 'apps-user', 'apps-order', 'application'];
    expect(parseBenchOptions(['--scenario', 'apps'], known).scenarios).toEqual(['apps-user', 'apps-order']);
    expect(parseBenchOptions(['--scenario', 'apps-order'], known).scenarios).toEqual(['apps-order']);
    expect(parseBenchOptions([], known).scenarios).toEqual(known);
    expect(() => parseBenchOptions(['--scenario', 'app'], known)).toThrow("unknown scenario 'app'");
    const withEvents = ['apps-order', 'events-sqlite', 'events-postgres'];
    expect(parseBenchOptions(['--scenario', 'events'], withEvents).scenarios).toEqual(['events-sqlite', 'events-postgres']);
  });

  it('lists every scenario and group in the usage', () => {
    for (const name of ['unary', 'fanout', 'http', 'tracing', 'peers', 'apps-user', 'apps-order', 'events-sqlite', 'events-postgres', 'server', 'registry', 'apps:', 'events:']) {
      expect(USAGE).toContain(name);
    }
  });

  it('names the bad option and value', () => {
    expect(() => parseBenchOptions(['--duration', 'soon'], KNOWN)).toThrow(new UsageError("--duration expects a positive number, got 'soon'"));
    expect(() => parseBenchOptions(['--scenario', 'nope'], KNOWN)).toThrow("unknown scenario 'nope'; known: unary, fanout, all");
  });
});
