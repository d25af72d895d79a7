import { parsePrometheusText } from '@switchyard/runtime/testing';
import { histogramBuckets, histogramQuantile, sampleSum } from './prometheus-histogram';

const TEXT = `# HELP events_consumed_total Deliveries handled.
# TYPE events_consumed_total counter
events_consumed_total{consumer="user-order-totals",outcome="applied"} 40
events_consumed_total{consumer="user-order-totals",outcome="duplicate"} 2
events_outbox_unsent 3
events_lag_seconds_bucket{le="0.005",consumer="c"} 10
events_lag_seconds_bucket{le="0.01",consumer="c"} 30
events_lag_seconds_bucket{le="0.025",consumer="c"} 40
events_lag_seconds_bucket{le="+Inf",consumer="c"} 40
events_lag_seconds_count{consumer="c"} 40
`;

describe('prometheus-histogram', () => {
  const samples = parsePrometheusText(TEXT);

  it('reads samples with and without labels, and sums those whose labels match', () => {
    expect(sampleSum(samples, 'events_consumed_total')).toBe(42);
    expect(sampleSum(samples, 'events_consumed_total', { outcome: 'applied' })).toBe(40);
    expect(sampleSum(samples, 'events_outbox_unsent')).toBe(3);
    expect(sampleSum(samples, 'missing')).toBe(0);
  });

  it('interpolates a quantile within its bucket, over what was observed between two scrapes', () => {
    const after = histogramBuckets(samples, 'events_lag_seconds', { consumer: 'c' });
    expect(after.map((b) => b.le)).toEqual([0.005, 0.01, 0.025, Number.POSITIVE_INFINITY]);
    // Rank 20 of 40: halfway through the 5-10 ms bucket (10 to 30).
    expect(histogramQuantile(0.5, [], after)).toBeCloseTo(0.0075);
    // Only the last 10 observations, all in the 10-25 ms bucket.
    const before = after.map((b) => ({ le: b.le, count: Math.min(b.count, 30) }));
    expect(histogramQuantile(0.5, before, after)).toBeCloseTo(0.0175);
    expect(histogramQuantile(0.5, after, after)).toBeNaN();
    // In +Inf: the highest finite bound.
    expect(histogramQuantile(0.99, [], [{ le: 0.005, count: 0 }, { le: Number.POSITIVE_INFINITY, count: 5 }])).toBe(0.005);
  });
});
