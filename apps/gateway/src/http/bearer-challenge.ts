/**
 * The RFC 6750 challenge of a 401: which scheme and realm to authenticate with, and why the
 * token given (or its absence) was refused. The description is our own message, quoted safely.
 */
export function bearerChallenge(description: string): string {
  const quoted = description.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, "'");
  return `Bearer realm="switchyard", error="invalid_token", error_description="${quoted}"`;
}
