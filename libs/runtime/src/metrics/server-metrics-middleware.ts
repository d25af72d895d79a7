import { performance } from 'node:perf_hooks';
import type { ServerMiddleware } from '../server/server-middleware';
import type { RpcMetrics } from './rpc-metrics';

/** Records rpc_server_duration_seconds of every call, by method and the code the client receives. */
export function serverMetricsMiddleware(metrics: RpcMetrics): ServerMiddleware {
  const histogram = metrics.serverDuration;
  return (call, next) => {
    const started = performance.now();
    return next().then((outcome) => {
      histogram.observe(metrics.callLabels(call.method, outcome.code), (performance.now() - started) / 1000);
      return outcome;
    });
  };
}
