import { bearerChallenge } from './bearer-challenge';

describe('bearerChallenge', () => {
  it('is an RFC 6750 challenge with the reason as its description', () => {
    expect(bearerChallenge('the token has expired', true)).toBe('Bearer realm="switchyard", error="invalid_token", error_description="the token has expired"');
  });

  it('keeps the quoted description closed whatever the reason says (no quote, backslash or control character gets in)', () => {
    const challenge = bearerChallenge('say "hi"\\\r\nSet-Cookie: x=1 ü', true);
    expect(challenge).toBe(`Bearer realm="switchyard", error="invalid_token", error_description="say 'hi''Set-Cookie: x=1 "`);
  });

  it('names no error when the request sent no credentials (RFC 6750 section 3.1)', () => {
    expect(bearerChallenge('no bearer token: send authorization: Bearer <token>', false)).toBe('Bearer realm="switchyard"');
  });
});
