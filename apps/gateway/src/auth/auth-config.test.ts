import { ConfigError } from '@switchyard/runtime';
import { DEFAULT_CLOCK_SKEW_MS, checkAuthMethods, loadAuthConfig } from './auth-config';

const SECRET = 'x'.repeat(32);

function configError(env: Record<string, string>): string {
  try {
    loadAuthConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAuthConfig', () => {
  it('is off (undefined) when no key variable is set', () => {
    expect(loadAuthConfig({})).toBeUndefined();
    expect(loadAuthConfig({ AUTH_JWT_SECRET: '' })).toBeUndefined();
  });

  it('reads a secret with safe defaults: no public methods, no roles, 30 s skew, the roles claim', () => {
    const config = loadAuthConfig({ AUTH_JWT_SECRET: SECRET })!;
    expect(config).toMatchObject({ issuer: undefined, audience: undefined, clockSkewMs: DEFAULT_CLOCK_SKEW_MS, rolesClaim: 'roles' });
    expect(config.keys.secret).toEqual(new TextEncoder().encode(SECRET));
    expect(config.keys.jwks).toBeUndefined();
    expect(config.publicMethods.size).toBe(0);
    expect(config.methodRoles.size).toBe(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes method names with or without the leading slash', () => {
    const config = loadAuthConfig({
      AUTH_JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
      AUTH_PUBLIC_METHODS: 'switchyard.user.v1.UserService/CreateUser, /switchyard.user.v1.UserService/GetUser,',
      AUTH_METHOD_ROLES: '{"switchyard.user.v1.UserService/ListUsers": ["admin", "support"]}',
    })!;
    expect([...config.publicMethods]).toEqual(['/switchyard.user.v1.UserService/CreateUser', '/switchyard.user.v1.UserService/GetUser']);
    expect([...config.methodRoles]).toEqual([['/switchyard.user.v1.UserService/ListUsers', ['admin', 'support']]]);
    expect(config.keys.jwks).toEqual({ url: new URL('https://issuer.example/.well-known/jwks.json') });
  });

  it('refuses a short secret without showing it', () => {
    const message = configError({ AUTH_JWT_SECRET: 'short-but-secret' });
    expect(message).toContain('AUTH_JWT_SECRET=(hidden): expected at least 32 bytes');
    expect(message).not.toContain('short-but-secret');
  });

  it('names each bad variable and how to fix it', () => {
    expect(configError({ AUTH_JWKS_URL: 'ftp://keys' })).toContain('AUTH_JWKS_URL=(hidden): expected an http:// or https:// URL');
    expect(configError({ AUTH_JWKS_URL: 'https://a/jwks', AUTH_JWKS_FILE: '/etc/jwks.json' })).toContain('AUTH_JWKS_URL and AUTH_JWKS_FILE are both set');
    expect(configError({ AUTH_JWT_SECRET: SECRET, AUTH_PUBLIC_METHODS: 'CreateUser' })).toContain('AUTH_PUBLIC_METHODS="CreateUser": expected a full method name like /switchyard.user.v1.UserService/CreateUser');
    expect(configError({ AUTH_JWT_SECRET: SECRET, AUTH_METHOD_ROLES: '{admin}' })).toContain('AUTH_METHOD_ROLES="{admin}": expected JSON like');
    expect(configError({ AUTH_JWT_SECRET: SECRET, AUTH_METHOD_ROLES: '{"/a.B/C": "admin"}' })).toMatch(/AUTH_METHOD_ROLES=.*: /);
    expect(configError({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_MS: '-1' })).toContain('AUTH_CLOCK_SKEW_MS="-1": expected milliseconds >= 0');
  });

  it('refuses settings that would do nothing because no key is set', () => {
    expect(configError({ AUTH_METHOD_ROLES: '{"/a.B/C": ["admin"]}', AUTH_ISSUER: 'https://issuer' })).toContain(
      'AUTH_ISSUER, AUTH_METHOD_ROLES set but auth is off: set AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_JWKS_FILE too',
    );
  });

  it('refuses a method that is both public and role-restricted', () => {
    expect(configError({ AUTH_JWT_SECRET: SECRET, AUTH_PUBLIC_METHODS: '/a.B/C', AUTH_METHOD_ROLES: '{"a.B/C": ["admin"]}' })).toContain('/a.B/C is in both AUTH_PUBLIC_METHODS and AUTH_METHOD_ROLES');
  });

  it('refuses public or role-restricted methods the gateway does not serve (a typo would leave a method open)', () => {
    const config = loadAuthConfig({ AUTH_JWT_SECRET: SECRET, AUTH_PUBLIC_METHODS: '/a.B/C', AUTH_METHOD_ROLES: '{"/a.B/ListUser": ["admin"]}' })!;
    expect(() => checkAuthMethods(config, ['/a.B/C', '/a.B/ListUsers'])).toThrow(/AUTH_METHOD_ROLES: the gateway serves no method \/a\.B\/ListUser\n/);
    expect(() => checkAuthMethods(config, ['/a.B/C', '/a.B/ListUser'])).not.toThrow();
  });
});
