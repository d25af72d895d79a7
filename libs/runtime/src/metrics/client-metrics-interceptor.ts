import { performance } from 'node:perf_hooks';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { RpcMetrics } from './rpc-metrics';

/**
 * Records rpc_client_duration_seconds of every outgoing call. Meant for the app's own interceptors
 * (outside the retries), so one call is one observation with the code its caller got.
 */
export function clientMetricsInterceptor(metrics: RpcMetrics): Interceptor {
  const histogram = metrics.clientDuration;
  return (options, nextCall) => {
    const path = options.method_definition.path;
    const started = performance.now();
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            histogram.observe(metrics.callLabels(path, status.code), (performance.now() - started) / 1000);
            nextStatus(status);
          },
        });
      },
    });
  };
}
