// @switchyard/runtime/testing: test support, kept out of the main entry point so app code never
// reaches it.
export { ManualClock } from './time/manual-clock';
export { parsePrometheusText, sampleValue, scrapeMetrics, type Sample } from './metrics/prometheus-scrape';
export { installInMemoryTracing } from './telemetry/in-memory-tracing.test-support';
