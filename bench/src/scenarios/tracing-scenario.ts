import { startSpanCounter } from '../servers/span-counter';
import type { Scenario, Target, Variant } from './scenario';
import { startSwitchyardUnaryStack } from './switchyard-unary-stack';

/**
 * Export settings large enough that nothing is dropped at 100% sampling: a queue of 200,000 spans
 * per process, batches of 2,048, sent every 500 ms.
 */
const BATCH_SPAN_PROCESSOR = {
  OTEL_BSP_MAX_QUEUE_SIZE: '200000',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
  OTEL_BSP_SCHEDULE_DELAY: '500',
  OTEL_BSP_EXPORT_TIMEOUT: '30000',
};


function sampledVariant(percent: number, throughputAtLeast: number): Variant {
  const ratio = percent / 100;
  const targets: Target[] = [
    { metric: 'throughput', atLeast: throughputAtLeast },
    { metric: 'metrics.spansDropped', atMost: 0 },
  ];
  return {
    name: `${percent}%`,
    description:
      `tracing SDK on, parentbased_traceidratio ${ratio}, spans over OTLP/gRPC to the libs/testing receiver in the harness process ` +
      `(unpinned; its CPU is not in server CPU/call), OTEL_BSP queue ${BATCH_SPAN_PROCESSOR.OTEL_BSP_MAX_QUEUE_SIZE}, batch ${BATCH_SPAN_PROCESSOR.OTEL_BSP_MAX_EXPORT_BATCH_SIZE}`,
    targets,
    async start(launcher) {
      const counter = await startSpanCounter();
      launcher.afterStop(async (_window, spans) => {
        const count = await counter.finish(spans);
        return {
          metrics: { ...count },
          notes: [
            `spansDropped: sampled spans the Switchyard server and the load generator ended (their own counts, reported after flushing) minus those the receiver got from them (${spans.map((s) => s.service).join(', ')})`,
          ],
        };
      });
      const stack = await startSwitchyardUnaryStack(launcher, {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: counter.endpoint,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(ratio),
        ...BATCH_SPAN_PROCESSOR,
      });
      return stack;
    },
  };
}

/** unary through the full Switchyard stack with tracing off, 10% and 100% sampled and exported. */
export const tracingScenario: Scenario = {
  name: 'tracing',
  description: 'GetUser from memory through the Switchyard stack: tracing off vs sampled and exported',
  variants: [
    {
      name: 'off',
      description: 'OTEL_SDK_DISABLED=true on registry, server and client: no tracer provider, the tracing middleware makes no-op spans',
      async start(launcher) {
        return startSwitchyardUnaryStack(launcher, { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' });
      },
    },
    sampledVariant(10, 0.9),
    sampledVariant(100, 0.75),
  ],
};
