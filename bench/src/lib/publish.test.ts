import { describe, expect, it } from "vitest";
import type { BenchmarkResult } from "./benchmark.ts";
import { chartPoints, README_END, README_START, resultsSection } from "./publish.ts";

const point = (endpoint: string, issuer: string, connections: number, p50: number) => ({ endpoint, issuer, connections, latencyUs: { p50, p99: p50 * 4 } });

describe("chartPoints", () => {
  it("takes the RS256 grid and skips the repeated 1-connection algorithm runs", () => {
    const points = chartPoints({ data: { points: [point("token", "RS256", 1, 100), point("token", "RS256", 16, 900), point("token", "RS256", 1, 999), point("token", "ES256", 1, 50)] } });
    expect(points).toEqual([
      { endpoint: "token", connections: 1, p50Us: 100, p99Us: 400 },
      { endpoint: "token", connections: 16, p50Us: 900, p99Us: 3600 },
    ]);
  });
});

describe("resultsSection", () => {
  it("writes every result's tables and notes between the markers, then the machine", () => {
    const result = {
      name: "policy-eval",
      description: "CEL",
      startedAt: "2026-11-29T12:00:00.000Z",
      durationS: 12,
      machineAtStart: { cpuModel: "CPU", cores: 2, memoryGiB: 24, kernel: "6", node: "v20", workerd: "1", miniflare: "4", loadAverage1m: 0.5 },
      loadAverageAtEnd: 0.7,
      servingPath: "workerd",
      loadGenerator: "loadgen",
      tables: [{ title: "T", columns: ["a"], rows: [["1"]] }],
      data: {},
      notes: ["a note"],
    } satisfies BenchmarkResult;
    const section = resultsSection([result]);
    expect(section.startsWith(README_START)).toBe(true);
    expect(section.endsWith(README_END)).toBe(true);
    expect(section).toContain("### policy-eval");
    expect(section).toContain("| a |");
    expect(section).toContain("- a note");
    expect(section).toContain("Machine: CPU, 2 cores");
  });
});
