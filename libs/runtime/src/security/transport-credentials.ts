import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { TlsFiles } from '../config/tls-config';

/**
 * What a server listens with: plaintext without TLS files; with them, TLS that requires every
 * client to present a certificate signed by TLS_CA (mutual TLS).
 */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
}

/**
 * What a client dials with: plaintext without TLS files; with them, TLS presenting this app's
 * certificate and accepting only a server certificate signed by TLS_CA whose SAN names the host
 * dialled. grpc-js checks the name against the channel's authority: the host of `host:port` and
 * `dns:///host:port` targets, and the service name of `registry:///<service>` targets (the
 * resolver's default authority), so an instance serves `user` calls only with a certificate
 * that names `user`, whatever address the registry lists for it.
 */
export function channelCredentials(tls: TlsFiles | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca, tls.key, tls.cert);
}
