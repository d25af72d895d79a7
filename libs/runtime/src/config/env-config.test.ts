import { z } from 'zod';
import { ConfigError, parseEnv, secretVariable } from './env-config';

function configErrorOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('names a bad variable with its value', () => {
    const message = configErrorOf(() => parseEnv({ MODE: z.enum(['a', 'b']) }, { MODE: 'c' }));
    expect(message).toMatch(/MODE="c": /);
  });

  it('names a bad secret variable and what it expects, never its value', () => {
    const token = 'tok-3f9a-never-printed';
    const message = configErrorOf(() =>
      parseEnv({ API_TOKEN: secretVariable(z.string().min(40, 'expected at least 40 characters')), PORT: z.coerce.number() }, { API_TOKEN: token, PORT: 'x' }),
    );
    expect(message).toContain('API_TOKEN=(hidden): expected at least 40 characters');
    expect(message).toContain('PORT="x"');
    expect(message).not.toContain(token);
  });

  it('hides a secret that a message of zod itself quotes', () => {
    const secret = 'quoted-secret-value';
    const message = configErrorOf(() => parseEnv({ KEY: secretVariable(z.string().refine(() => false, { message: `bad "${secret}"` })) }, { KEY: secret }));
    expect(message).toContain('KEY=(hidden): bad "(hidden)"');
    expect(message).not.toContain(secret);
  });

  it('says a missing secret is unset', () => {
    expect(configErrorOf(() => parseEnv({ API_TOKEN: secretVariable(z.string()) }, {}))).toContain('API_TOKEN=(unset)');
  });

  it('returns a secret variable like any other', () => {
    expect(parseEnv({ API_TOKEN: secretVariable(z.string().optional()) }, { API_TOKEN: 'abc' }).API_TOKEN).toBe('abc');
  });
});
