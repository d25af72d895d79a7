import type { ScenarioResult, VariantResult } from './bench-report';
import { medianRound } from './median-round';

function variant(name: string, throughput: number, ratio: number): VariantResult {
  return {
    variant: name,
    throughput,
    notes: [],
    vsBaseline: { throughput: ratio, serverCpuPerCall: 1 / ratio, clientCpuPerCall: 1, p50: 1, p99: 1 },
    targets: [],
  } as unknown as VariantResult;
}

const round = (baseline: number, ratio: number): ScenarioResult => ({
  scenario: 'unary',
  description: '',
  baseline: 'grpc-js',
  variants: [variant('grpc-js', baseline, 1), variant('switchyard', baseline * ratio, ratio)],
});

describe('medianRound', () => {
  it('keeps a single round as it is', () => {
    const only = round(100, 0.5);
    expect(medianRound([only])).toBe(only);
  });

  it('reports, per variant, the round with the median ratio to its own baseline, and lists every round', () => {
    const merged = medianRound([round(100, 0.5), round(80, 0.9), round(120, 0.6)]);
    // Baseline: the median calls/s (100); switchyard: the median ratio (0.6, from the third round).
    expect(merged.variants.map((v) => [v.throughput, v.vsBaseline.throughput])).toEqual([
      [100, 1],
      [72, 0.6],
    ]);
    expect(merged.variants[0].notes).toEqual(['median of 3 rounds (calls/s per round 100, 80, 120)']);
    expect(merged.variants[1].notes).toEqual(['median of 3 rounds (vs baseline per round: calls/s 0.50x, 0.90x, 0.60x; CPU/call 2.00x, 1.11x, 1.67x)']);
  });
});
