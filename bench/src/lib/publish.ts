/**
 * Rebuilds what the README shows from the results on disk: the latency chart
 * (results/latency.svg) and the section between the results markers.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_DIR, type BenchmarkResult } from "./benchmark.ts";
import { latencyChartSvg, type ChartPoint } from "./chart.ts";
import { formatTable } from "./table.ts";

export const README_START = "<!-- results:start (written by npm run bench) -->";
export const README_END = "<!-- results:end -->";
const README = join(RESULTS_DIR, "..", "README.md");
const CHART = join(RESULTS_DIR, "latency.svg");

interface ThroughputPoint {
  readonly endpoint: string;
  readonly issuer: string;
  readonly connections: number;
  readonly latencyUs: { readonly p50: number; readonly p99: number };
}

/** The chart's points: the RS256 runs of every endpoint at every concurrency level. */
export function chartPoints(result: Pick<BenchmarkResult, "data">): ChartPoint[] {
  const points = (result.data as { points?: readonly ThroughputPoint[] }).points ?? [];
  const seen = new Set<string>();
  return points
    .filter((p) => p.issuer === "RS256")
    .filter((p) => {
      // The 1-connection algorithm runs repeat the main grid's first level: keep the grid's.
      const key = `${p.endpoint}@${p.connections}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((p) => ({ endpoint: p.endpoint, connections: p.connections, p50Us: p.latencyUs.p50, p99Us: p.latencyUs.p99 }));
}

export function resultsSection(results: readonly BenchmarkResult[]): string {
  const parts: string[] = [README_START, ""];
  for (const r of results) {
    const m = r.machineAtStart;
    parts.push(`### ${r.name}`, "", `${r.description}. Run ${r.startedAt.slice(0, 16).replace("T", " ")} UTC, ${r.durationS} s; load average ${m.loadAverage1m} → ${r.loadAverageAtEnd}.`, "");
    for (const table of r.tables) parts.push(formatTable(table), "");
    for (const note of r.notes) parts.push(`- ${note}`);
    parts.push("");
  }
  const first = results[0];
  if (first !== undefined) {
    const m = first.machineAtStart;
    parts.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, workerd ${m.workerd} (miniflare ${m.miniflare}). Served: ${first.servingPath}. Load: ${first.loadGenerator}.`, "");
  }
  parts.push(README_END);
  return parts.join("\n");
}

function readResults(): BenchmarkResult[] {
  if (!existsSync(RESULTS_DIR)) return [];
  return readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), "utf8")) as BenchmarkResult);
}

export function publishResults(order: readonly string[]): { chart?: string } {
  const results = readResults().sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const throughput = results.find((r) => r.name === "token-throughput");
  let chart: string | undefined;
  if (throughput !== undefined) {
    writeFileSync(CHART, latencyChartSvg(chartPoints(throughput), `Token endpoint vs floor vs no-op: latency by concurrency (${throughput.startedAt.slice(0, 10)})`));
    chart = CHART;
  }
  if (existsSync(README)) {
    const text = readFileSync(README, "utf8");
    const start = text.indexOf(README_START);
    const end = text.indexOf(README_END);
    if (start >= 0 && end > start) writeFileSync(README, `${text.slice(0, start)}${resultsSection(results)}${text.slice(end + README_END.length)}`);
  }
  return chart === undefined ? {} : { chart };
}
