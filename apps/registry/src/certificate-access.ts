import type { Caller, ReadAccess, RegistryAccess } from './registry-access';

/**
 * With mutual TLS on, what a caller may do also depends on the certificate it connected with:
 * it may register only a service its certificate names (a SAN DNS name), on top of what its token
 * allows, so a stolen fleet token alone does not let one app pose as another. Reads: "mtls" lets
 * any caller with a certificate signed by TLS_CA read; "open" and "token" are the token rules.
 */
export function withCertificateIdentity(tokenRules: RegistryAccess, readAccess: ReadAccess): RegistryAccess {
  return (call) => {
    const byToken = tokenRules(call);
    const identity = call.peerIdentity;
    // Without a verified certificate (its socket already gone), nothing is allowed.
    if (!identity) {
      return { description: 'a caller without a client certificate', authenticated: false, mayRegister: () => false, mayRenew: false, mayRead: false };
    }
    const mayRead = readAccess === 'mtls' || byToken.mayRead;
    // A token is required and missing: the token's refusal is the one to give.
    if (!byToken.authenticated && !byToken.mayRenew) return { ...byToken, mayRead };
    const names = identity.dnsNames;
    const caller: Caller = {
      description: `${byToken.authenticated ? `${byToken.description} with ` : ''}a certificate naming ${names.length > 0 ? names.join(', ') : 'no service'}`,
      authenticated: true,
      mayRegister: (serviceName) => names.includes(serviceName) && byToken.mayRegister(serviceName),
      mayRenew: byToken.mayRenew,
      mayRead,
    };
    return caller;
  };
}
