import { ConfigError } from '@switchyard/runtime';
import { loadBreakerConfig } from './breaker-config';
import { DEFAULT_BREAKER } from './circuit-breaker';

describe('loadBreakerConfig', () => {
  it('defaults to DEFAULT_BREAKER', () => {
    expect(loadBreakerConfig({})).toEqual(DEFAULT_BREAKER);
  });

  it('reads BREAKER_FAILURES, BREAKER_OPEN_MS and BREAKER_HUNG_AFTER_MS', () => {
    expect(loadBreakerConfig({ BREAKER_FAILURES: '3', BREAKER_OPEN_MS: '2000', BREAKER_HUNG_AFTER_MS: '500' })).toEqual({ failures: 3, openMs: 2000, hungAfterMs: 500 });
  });

  it.each([
    ['BREAKER_FAILURES', '0', 'expected from 1 to 1000 failures'],
    ['BREAKER_FAILURES', 'many', 'expected a number of consecutive failures'],
    ['BREAKER_OPEN_MS', '1.5', 'expected a whole number of milliseconds'],
    ['BREAKER_OPEN_MS', '5', 'expected from 10 to 600000 milliseconds'],
    ['BREAKER_HUNG_AFTER_MS', '-1', 'expected from 1 to 600000 milliseconds'],
  ])('names %s=%s in the start-up error', (variable, value, expected) => {
    expect(() => loadBreakerConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadBreakerConfig({ [variable]: value })).toThrow(`${variable}=${JSON.stringify(value)}: ${expected}`);
  });
});
