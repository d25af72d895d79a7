import { loadServiceConfig } from '../config/service-config';
import { createLogger } from '../logging/create-logger';
import { RpcMetrics } from '../metrics/rpc-metrics';
import { reportOutlierEjection } from '../registry/outlier-ejection-events';
import { startTelemetry } from '../telemetry/start-telemetry';
import { createPeerClients } from './peer-clients';

describe('createPeerClients', () => {
  it('logs a warn line for every outlier ejection and counts it, until closed', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ service: 'gateway', level: 'info', format: 'json' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const metrics = new RpcMetrics({ defaultMetrics: false });
    const config = loadServiceConfig('gateway', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0' });
    const clients = createPeerClients({ config, logger, metrics, telemetry: startTelemetry({ serviceName: 'gateway', serviceVersion: 'test', env: {} }) });
    const ejection = { address: '10.0.0.7:50061', ejectionMs: 5_000, consecutiveFailures: 5, lastFailure: 'UNAVAILABLE' };

    reportOutlierEjection(ejection);
    await new Promise((resolve) => setImmediate(resolve)); // log lines are written once per turn

    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'instance ejected from rotation by outlier detection', address: '10.0.0.7:50061', ejection_ms: 5_000, consecutive_failures: 5, last_failure: 'UNAVAILABLE' }),
    ]);
    const counted = async () => (await metrics.ejections.get()).values.find((value) => value.labels.target === '10.0.0.7:50061')?.value;
    expect(await counted()).toBe(1);

    clients.close();
    reportOutlierEjection(ejection);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(await counted()).toBe(1);
  });
});
