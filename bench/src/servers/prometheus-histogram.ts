import type { Sample } from '@switchyard/runtime/testing';

// Reading counters and histograms out of a scrape (parsePrometheusText, scrapeMetrics in
// @switchyard/runtime/testing), as Prometheus's sum() and histogram_quantile() would.

/** The sum of `name`'s samples whose labels include `labels` (0 when there are none). */
export function sampleSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A histogram's cumulative bucket counts by upper bound (`le`, +Inf last). */
export function histogramBuckets(samples: Sample[], name: string, labels: Record<string, string> = {}): Array<{ le: number; count: number }> {
  const byBound = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(labels).every(([key, value]) => s.labels[key] === value)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  return [...byBound.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of the observations between two scrapes of a histogram (`before` may be empty),
 * as Prometheus's histogram_quantile computes it: linear within the bucket the rank falls in, the
 * highest finite bound when it falls in +Inf. NaN without observations.
 */
export function histogramQuantile(q: number, before: Array<{ le: number; count: number }>, after: Array<{ le: number; count: number }>): number {
  const earlier = new Map(before.map((b) => [b.le, b.count]));
  const buckets = after.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) }));
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lower;
      return lower + ((bucket.le - lower) * (rank - below)) / Math.max(bucket.count - below, 1);
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}
