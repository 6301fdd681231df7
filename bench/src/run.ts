/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME…` runs those.
 * Each prints its tables and writes bench/results/NAME.json; then the chart
 * (bench/results/latency.svg) and the README's results section are rebuilt
 * from whatever results are on disk. Figures never fail the run: the exit code
 * is non-zero only when a benchmark could not run.
 */
import { BENCHMARKS } from "./benchmarks.ts";
import { runBenchmark, writeResult } from "./lib/benchmark.ts";
import { publishResults } from "./lib/publish.ts";
import { formatTable } from "./lib/table.ts";

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; choose from: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const selected = requested.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => requested.includes(b.name));

process.env["CLOUDFLARE_CF_FETCH_ENABLED"] = "false";
process.env["WRANGLER_SEND_METRICS"] = "false";

const failed: string[] = [];
for (const benchmark of selected) {
  console.log(`\n== ${benchmark.name}: ${benchmark.description}`);
  try {
    const result = await runBenchmark(benchmark);
    for (const table of result.tables) console.log(`\n${formatTable(table)}`);
    for (const note of result.notes) console.log(`- ${note}`);
    console.log(`(${result.durationS} s; load average ${result.machineAtStart.loadAverage1m} → ${result.loadAverageAtEnd}; written to ${writeResult(result)})`);
  } catch (error) {
    failed.push(benchmark.name);
    console.error(`${benchmark.name} could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
const published = publishResults(BENCHMARKS.map((b) => b.name));
console.log(`\nchart: ${published.chart ?? "(no token-throughput results yet)"}; README results section updated`);
if (failed.length > 0) {
  console.error(`could not run: ${failed.join(", ")}`);
  process.exit(1);
}
