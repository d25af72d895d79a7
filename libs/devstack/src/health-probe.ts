// Container health check: `node dist/libs/devstack/health-probe.js 127.0.0.1:50052` exits 0 when
// the server at that address reports SERVING, 1 otherwise.
import { checkHealth } from './health-check';

const address = process.argv[2] ?? '127.0.0.1:50050';
checkHealth(address, '', 2000).then(
  (status) => {
    process.stdout.write(`${address}: ${status}\n`);
    process.exit(status === 'SERVING' ? 0 : 1);
  },
  (error: Error) => {
    process.stderr.write(`${address}: ${error.message}\n`);
    process.exit(1);
  },
);
