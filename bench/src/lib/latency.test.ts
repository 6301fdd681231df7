import { describe, expect, it } from "vitest";
import { checkConsistency, percentile, summarizeLatencies } from "./latency.ts";

describe("summarizeLatencies", () => {
  it("gives nearest-rank percentiles, mean and sample stdev of every sample", () => {
    const samples = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const s = summarizeLatencies(samples);
    expect(s).toMatchObject({ min: 1, max: 1000, p50: 500, p90: 900, p99: 990, p999: 999, mean: 500.5 });
    expect(s.stdev).toBeCloseTo(288.82, 2);
  });

  it("does not reorder the caller's samples", () => {
    const samples = Float64Array.of(3, 1, 2);
    summarizeLatencies(samples);
    expect([...samples]).toEqual([3, 1, 2]);
  });

  it("returns NaN figures for an empty run", () => {
    expect(Number.isNaN(summarizeLatencies(new Float64Array()).p50)).toBe(true);
    expect(Number.isNaN(percentile(new Float64Array(), 50))).toBe(true);
  });
});

describe("checkConsistency", () => {
  it("accepts a run whose mean latency is what Little's law implies", () => {
    // 16 connections at 1000 req/s: each request must take 16 ms on average.
    const c = checkConsistency(16, 1000, 16_500);
    expect(c.impliedMeanUs).toBe(16_000);
    expect(c.ratio).toBeCloseTo(1.031, 3);
    expect(c.ok).toBe(true);
  });

  it("flags a run whose figures can't both be true", () => {
    expect(checkConsistency(1, 1000, 3000).ok).toBe(false);
    expect(checkConsistency(1, 0, 3000).ok).toBe(false);
  });
});
