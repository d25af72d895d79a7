// `npm run certs [-- --dir ./certs --host my-host ...]`: a local CA and a certificate per app for
// mutual TLS (see docs/tls.md). Running it again keeps what is there.
import { resolve } from 'node:path';
import { makeServiceCertificates } from './certificates';

function parseArguments(args: string[]): { dir: string; extraHosts: string[] } {
  let dir = './certs';
  const extraHosts: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const value = args[i + 1];
    if ((args[i] === '--dir' || args[i] === '--host') && value !== undefined) {
      if (args[i] === '--dir') dir = value;
      else extraHosts.push(value);
      i += 1;
    } else {
      throw new Error(`unknown argument ${args[i]}; usage: make-certs [--dir <directory>] [--host <extra SAN name or IP>]...`);
    }
  }
  return { dir: resolve(dir), extraHosts };
}

try {
  const { dir, extraHosts } = parseArguments(process.argv.slice(2));
  const result = makeServiceCertificates({ dir, extraHosts });
  for (const path of result.made) process.stdout.write(`made ${path}\n`);
  for (const path of result.kept) process.stdout.write(`kept ${path}\n`);
  process.stdout.write(`each app: TLS_CERT=${dir}/<app>.crt TLS_KEY=${dir}/<app>.key TLS_CA=${result.ca.cert}\n`);
  process.stdout.write(`grpcurl: -cacert ${result.ca.cert} -cert ${result.client.cert} -key ${result.client.key}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
