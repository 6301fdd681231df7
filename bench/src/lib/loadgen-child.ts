/**
 * Entry point of the load-generator process: reads its LoadConfig from the
 * LOADGEN_CONFIG environment variable (credentials stay out of argv), runs it,
 * and prints one JSON line: the summary (percentiles from every sample).
 */
import { summarizeLatencies } from "./latency.ts";
import { runLoad, type LoadConfig } from "./loadgen-run.ts";

const config = JSON.parse(process.env["LOADGEN_CONFIG"] ?? "null") as LoadConfig | null;
if (config === null) {
  console.error("LOADGEN_CONFIG is not set");
  process.exit(2);
}
const { latenciesUs, ...raw } = await runLoad(config);
process.stdout.write(`${JSON.stringify({ ...raw, latencyUs: summarizeLatencies(latenciesUs) })}\n`);
