import type { ScenarioResult, VariantResult } from './bench-report';

const times = (r: number) => `${r.toFixed(2)}x`;

/**
 * One scenario measured in several rounds, each round every variant once (baseline first), merged
 * into one result: for each variant, the round whose calls/s ratio to that round's baseline is the
 * median. A burst of outside load hits one round, not every ratio: on a shared or noisy machine
 * the median round says more than one long run. Each row keeps its own round's numbers, so its
 * ratios stay against the baseline measured next to it, and a note lists every round's ratios.
 */
export function medianRound(rounds: ScenarioResult[]): ScenarioResult {
  const [first] = rounds;
  if (rounds.length === 1) return first;
  const variants = first.variants.map((_, i): VariantResult => {
    const candidates = rounds.map((round) => round.variants[i]);
    const ordered = [...candidates].sort((a, b) => (i === 0 ? a.throughput - b.throughput : a.vsBaseline.throughput - b.vsBaseline.throughput));
    // Of an even count, the lower of the two middle rounds: the less flattering one.
    const median = ordered[Math.floor((ordered.length - 1) / 2)];
    const perRound =
      i === 0
        ? `calls/s per round ${candidates.map((c) => Math.round(c.throughput)).join(', ')}`
        : `vs baseline per round: calls/s ${candidates.map((c) => times(c.vsBaseline.throughput)).join(', ')}; CPU/call ${candidates.map((c) => times(c.vsBaseline.serverCpuPerCall)).join(', ')}`;
    return { ...median, notes: [...median.notes, `median of ${rounds.length} rounds (${perRound})`] };
  });
  return { ...first, variants };
}
