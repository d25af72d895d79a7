import { parsePathTemplate } from './path-template';

describe('parsePathTemplate', () => {
  it('binds single-segment variables, decoded, and matches a verb literally', () => {
    expect(parsePathTemplate('/v1/users/{id}').match('/v1/users/a%20b')).toEqual({ id: 'a b' });
    expect(parsePathTemplate('/v1/users/{id}').match('/v1/users/a/b')).toBeUndefined();
    expect(parsePathTemplate('/v1/users/{user_id}:withOrders').match('/v1/users/u1:withOrders')).toEqual({ user_id: 'u1' });
    expect(parsePathTemplate('/v1/users/{user_id}:withOrders').match('/v1/users/u1')).toBeUndefined();
    expect(parsePathTemplate('/v1/users').match('/v1/users/')).toBeUndefined();
  });

  it('does not match a path whose escape does not decode', () => {
    expect(parsePathTemplate('/v1/users/{id}').match('/v1/users/%E0%A4%A')).toBeUndefined();
  });

  it('refuses templates it cannot serve, at start', () => {
    expect(() => parsePathTemplate('/v1/{name=shelves/*}')).toThrow(/neither a literal nor a \{field\} variable/);
    expect(() => parsePathTemplate('/v1/**')).toThrow(/neither a literal/);
    expect(() => parsePathTemplate('v1/users')).toThrow(/starts with \//);
  });
});
