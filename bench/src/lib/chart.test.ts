import { describe, expect, it } from "vitest";
import { latencyChartSvg } from "./chart.ts";

const points = [1, 16, 64].flatMap((connections) =>
  ["token", "floor", "noop"].map((endpoint, i) => ({ endpoint, connections, p50Us: (i + 1) * 500 * connections, p99Us: (i + 1) * 2000 * connections })),
);

describe("latencyChartSvg", () => {
  it("draws a p50 and a p99 bar per endpoint and concurrency level, with a legend", () => {
    const svg = latencyChartSvg(points, "title <&>");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(18);
    for (const label of ["1 connection", "16 connections", "64 connections", ">token<", ">floor<", ">noop<"]) expect(svg).toContain(label);
    expect(svg).toContain("title &lt;&amp;&gt;");
  });

  it("spans the data on a log axis: a taller bar for a slower request", () => {
    const svg = latencyChartSvg(
      [
        { endpoint: "a", connections: 1, p50Us: 100, p99Us: 100 },
        { endpoint: "b", connections: 1, p50Us: 100_000, p99Us: 100_000 },
      ],
      "t",
    );
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"[^>]*><title>/g)].map((m) => Number(m[1]));
    expect(heights[2]).toBeGreaterThan(heights[0] as number);
    expect(svg).toContain("100 µs");
    expect(svg).toContain("100 ms");
  });
});
