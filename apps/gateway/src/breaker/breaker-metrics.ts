import { Gauge, type Registry } from 'prom-client';
import type { BreakerState } from './circuit-breaker';

const STATE_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The gauge gateway_circuit_breaker_state{upstream}: 0 closed, 1 half-open, 2 open. Returns, per
 * upstream, the callback its breaker calls on a change (see CircuitBreakerOptions.onStateChange).
 */
export function breakerStateGauge(registry: Registry, upstreams: readonly string[]): (upstream: string) => (state: BreakerState) => void {
  const gauge = new Gauge({ name: 'gateway_circuit_breaker_state', help: 'Circuit breaker per upstream service: 0 closed, 1 half-open, 2 open.', labelNames: ['upstream'], registers: [registry] });
  for (const upstream of upstreams) gauge.set({ upstream }, STATE_VALUES.closed);
  return (upstream) => (state) => gauge.set({ upstream }, STATE_VALUES[state]);
}
