/**
 * Latency figures from every sample of a run (no histogram buckets, no
 * coordinated-omission "correction": each number is a request that happened),
 * and the Little's-law check that the figures describe the run they came from.
 */

export interface LatencyUs {
  readonly min: number;
  readonly mean: number;
  readonly stdev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * A closed-loop generator keeps every connection busy, so by Little's law the
 * mean latency must equal connections / throughput. When they disagree by more
 * than {@link CONSISTENCY_TOLERANCE} the generator's own delays (or its clock)
 * are in the figures, and the run is flagged.
 */
export interface Consistency {
  /** connections / (requests/s), in µs: the mean latency the throughput implies. */
  readonly impliedMeanUs: number;
  readonly measuredMeanUs: number;
  /** measured / implied. */
  readonly ratio: number;
  readonly ok: boolean;
}

export const CONSISTENCY_TOLERANCE = 0.1;

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float error (0.999 × 1000 = 999.0000000000001) from moving the rank up by one.
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarizeLatencies(samplesUs: Float64Array): LatencyUs {
  const sorted = Float64Array.from(samplesUs).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = n > 0 ? sum / n : Number.NaN;
  let squares = 0;
  for (const v of sorted) squares += (v - mean) ** 2;
  return {
    min: n > 0 ? (sorted[0] as number) : Number.NaN,
    mean,
    stdev: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: n > 0 ? (sorted[n - 1] as number) : Number.NaN,
  };
}

export function checkConsistency(connections: number, requestsPerSecond: number, measuredMeanUs: number): Consistency {
  const impliedMeanUs = requestsPerSecond > 0 ? (connections / requestsPerSecond) * 1e6 : Number.POSITIVE_INFINITY;
  const ratio = measuredMeanUs / impliedMeanUs;
  return { impliedMeanUs, measuredMeanUs, ratio, ok: Math.abs(ratio - 1) <= CONSISTENCY_TOLERANCE };
}
