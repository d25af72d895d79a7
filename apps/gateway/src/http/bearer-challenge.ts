/**
 * The RFC 6750 challenge of a 401: which scheme and realm to authenticate with, and why the
 * token given was refused. A request that sent no credentials gets no error code (RFC 6750
 * section 3.1): it is told how to authenticate, not that a token it never sent is invalid. The
 * description is our own message, quoted safely.
 */
export function bearerChallenge(description: string, credentialsSent: boolean): string {
  if (!credentialsSent) return 'Bearer realm="switchyard"';
  const quoted = description.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, "'");
  return `Bearer realm="switchyard", error="invalid_token", error_description="${quoted}"`;
}
