import type { PeerCertificate } from 'node:tls';
import { peerIdentityOf } from './peer-identity';

// What grpc-js's getAuthContext() returns; the real handshake is covered in libs/devstack's mutual-tls.test.ts.
const callWith = (certificate: Partial<PeerCertificate> | undefined, transportSecurityType = 'ssl') => ({
  getAuthContext: () => (certificate ? { transportSecurityType, sslPeerCertificate: certificate as PeerCertificate } : {}),
});

describe('peerIdentityOf', () => {
  it('is undefined without a verified certificate: plaintext, or TLS without a client certificate', () => {
    expect(peerIdentityOf(callWith(undefined))).toBeUndefined();
    expect(peerIdentityOf({ getAuthContext: () => null })).toBeUndefined();
  });

  it('takes the SAN DNS names, leaving IP addresses and other kinds out, and the CN', () => {
    const identity = peerIdentityOf(
      callWith({ subjectaltname: 'DNS:user, DNS:localhost, IP Address:127.0.0.1, URI:spiffe://switchyard/user', subject: { CN: 'user' } as PeerCertificate['subject'] }),
    );
    expect(identity).toEqual({ dnsNames: ['user', 'localhost'], commonName: 'user' });
    expect(Object.isFrozen(identity)).toBe(true);
  });

  it('copes with a certificate without SANs or a CN', () => {
    expect(peerIdentityOf(callWith({ subject: {} as PeerCertificate['subject'] }))).toEqual({ dnsNames: [], commonName: undefined });
  });
});
