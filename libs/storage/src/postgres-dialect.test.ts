import { redactDatabaseUrl } from './postgres-dialect';

describe('redactDatabaseUrl', () => {
  it('masks the password of the userinfo and keeps the rest', () => {
    expect(redactDatabaseUrl('postgres://app:s3cret@db:5432/orders')).toBe('postgres://app:***@db:5432/orders');
  });

  it('masks password, sslpassword and sslkey given as query parameters, whatever their case', () => {
    const redacted = redactDatabaseUrl('postgres://app@db/orders?password=qs-secret&sslmode=require&SSLPassword=key-pass&sslkey=/run/secrets/client.key');
    expect(redacted).not.toMatch(/qs-secret|key-pass|client\.key/);
    expect(redacted).toContain('sslmode=require');
    expect(redacted).toContain('password=***');
  });

  it('hides a URL that does not parse, whole', () => {
    const redacted = redactDatabaseUrl('postgres://app:s3cret@db:port-is-not-a-number/orders');
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toContain('hidden');
  });

  it('leaves a URL without secrets as it was', () => {
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
  });
});
