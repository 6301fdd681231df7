import { describe, expect, it } from "vitest";
import { combineRounds, type Point } from "./token-throughput.ts";

const round = (rps: number, p50: number, errors: number, consistent: boolean): Point => ({
  endpoint: "token",
  issuer: "RS256",
  connections: 16,
  requestsPerSecond: rps,
  latencyUs: { min: p50 / 2, mean: p50, stdev: 1, p50, p90: p50 * 2, p99: p50 * 3, p999: p50 * 4, max: p50 * 5 },
  errorCount: errors,
  consistencyRatio: 1,
  consistent,
  requests: rps,
});

describe("combineRounds", () => {
  it("takes each figure's median, sums requests and errors, and is consistent only if every round was", () => {
    const combined = combineRounds([round(100, 900, 0, true), round(300, 100, 1, true), round(200, 500, 0, false)]);
    expect(combined.requestsPerSecond).toBe(200);
    expect(combined.latencyUs.p50).toBe(500);
    expect(combined.latencyUs.p99).toBe(1500);
    expect(combined.requests).toBe(600);
    expect(combined.errorCount).toBe(1);
    expect(combined.consistent).toBe(false);
  });

  it("refuses to combine nothing", () => {
    expect(() => combineRounds([])).toThrow();
  });
});
