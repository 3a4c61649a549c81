// Latency summaries for the load generator: percentiles of a sample, in milliseconds.

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (p50, p90, p99) and the maximum, rounded to 0.1 ms; NaN when empty. */
export function summarise(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted.length ? sorted[sorted.length - 1] : NaN) };
}
