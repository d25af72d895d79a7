// Container health check: `node dist/libs/devstack/health-probe.js 127.0.0.1:50052` exits 0 when
// the server at that address reports SERVING, 1 otherwise. With the app's TLS_CERT, TLS_KEY and
// TLS_CA set, it dials with mutual TLS as the app's own clients do.
import { checkHealth, healthCheckCredentials } from './health-check';

const address = process.argv[2] ?? '127.0.0.1:50050';
checkHealth(address, '', 2000, healthCheckCredentials(process.env)).then(
  (status) => {
    process.stdout.write(`${address}: ${status}\n`);
    process.exit(status === 'SERVING' ? 0 : 1);
  },
  (error: Error) => {
    process.stderr.write(`${address}: ${error.message}\n`);
    process.exit(1);
  },
);
