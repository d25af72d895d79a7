import type { PeerCertificate } from 'node:tls';

/** Who the client is, from the certificate it presented and the server verified against TLS_CA. */
export interface PeerIdentity {
  /** The certificate's SAN DNS names, e.g. `user` and `localhost`, in the certificate's order. */
  readonly dnsNames: readonly string[];
  /** The subject's common name, when the certificate has one. */
  readonly commonName: string | undefined;
}

/**
 * The verified identity of the peer of `call`: undefined over plaintext, and over TLS without a
 * verified client certificate (grpc-js reports a certificate only once the handshake verified it).
 */
export function peerIdentityOf(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): PeerIdentity | undefined {
  const certificate = call.getAuthContext()?.sslPeerCertificate;
  if (!certificate) return undefined;
  // Node writes subjectaltname as "DNS:user, DNS:localhost, IP Address:127.0.0.1".
  const dnsNames = (certificate.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length));
  const commonName = certificate.subject?.CN;
  return Object.freeze({ dnsNames: Object.freeze(dnsNames), commonName: Array.isArray(commonName) ? commonName[0] : commonName });
}
