import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './env-config';
import { loadRoutingRulesSetting, routingHeaderNames } from './routing-rules-config';

function errorOf(env: Record<string, string>): string {
  try {
    loadRoutingRulesSetting(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('ROUTING_RULES and ROUTING_RULES_FILE', () => {
  it('reads rules with their defaults: header x-canary, no weights, not sticky', () => {
    expect(loadRoutingRulesSetting({})).toBeUndefined();
    expect(loadRoutingRulesSetting({ ROUTING_RULES: '{"user":{"weights":{"0.2.0":10},"sticky":true},"order":{"header":"x-track"}}' })).toEqual({
      rules: { user: { header: 'x-canary', weights: { '0.2.0': 10 }, sticky: true }, order: { header: 'x-track', weights: {}, sticky: false } },
    });
  });

  it('names the variable and the bad field', () => {
    expect(errorOf({ ROUTING_RULES: '{"user":' })).toMatch(/ROUTING_RULES: not JSON/);
    expect(errorOf({ ROUTING_RULES: '{"user":{"weights":{"0.2.0":60,"0.3.0":50}}}' })).toMatch(/ROUTING_RULES at user\.weights: the weights add up to more than 100 percent/);
    expect(errorOf({ ROUTING_RULES: '{"user":{"weights":{"0.2.0":-1}}}' })).toMatch(/ROUTING_RULES at user\.weights\.0\.2\.0: expected a percent from 0 to 100/);
    expect(errorOf({ ROUTING_RULES: '{"user":{"wieghts":{"0.2.0":10}}}' })).toMatch(/ROUTING_RULES at user: .*wieghts/);
    expect(errorOf({ ROUTING_RULES: '{"user":{"header":"X-Canary"}}' })).toMatch(/ROUTING_RULES at user\.header: expected a lower-case metadata key/);
    for (const header of ['grpc-timeout', 'authorization', 'x-switchyard-subject', 'trace-bin']) {
      expect(errorOf({ ROUTING_RULES: JSON.stringify({ user: { header } }) })).toMatch(/user\.header: expected a header of its own/);
    }
    expect(errorOf({ ROUTING_RULES: '{}', ROUTING_RULES_FILE: '/x' })).toMatch(/ROUTING_RULES and ROUTING_RULES_FILE are both set/);
    expect(errorOf({ ROUTING_RULES_FILE: '/nonexistent/rules.json' })).toMatch(/ROUTING_RULES_FILE="\/nonexistent\/rules.json": cannot read it \(ENOENT\)/);
  });

  it('checks a rules file at start-up and lists the headers that pin a version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-rules-'));
    try {
      const file = join(dir, 'rules.json');
      writeFileSync(file, '{"user":{"sticky":"yes"}}');
      expect(errorOf({ ROUTING_RULES_FILE: file })).toMatch(/ROUTING_RULES_FILE=".*rules.json" at user\.sticky: expected true or false/);
      writeFileSync(file, '{"user":{"header":"x-track"},"order":{}}');
      const setting = loadRoutingRulesSetting({ ROUTING_RULES_FILE: file });
      expect(setting).toEqual({ file });
      expect(routingHeaderNames(setting)).toEqual(['x-canary', 'x-track']);
      expect(routingHeaderNames(undefined)).toEqual(['x-canary']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
