/**
 * The load generator, as the benchmarks use it: a closed loop over N keep-alive
 * connections in a separate Node process (loadgen-child.ts), loopback only.
 *
 * Why not wrk: Debian's wrk 4.1 "corrects" its histogram for coordinated
 * omission (stats_correct adds synthetic samples for every slow response), so
 * its percentiles and mean describe requests that never happened and fail the
 * Little's-law check here by 1.3–6×. This one keeps every real sample.
 */
import { fileURLToPath } from "node:url";
import { runCommand } from "@jwt-registry-auth/testkit/process";
import { checkConsistency, type Consistency, type LatencyUs } from "./latency.ts";
import type { LoadConfig, RawLoadResult } from "./loadgen-run.ts";

export type { LoadConfig } from "./loadgen-run.ts";

export const LOAD_GENERATOR = "closed-loop HTTP/1.1 keep-alive generator (bench/src/lib/loadgen-run.ts), own Node process, every sample kept";

export interface LoadResult extends Omit<RawLoadResult, "latenciesUs"> {
  readonly latencyUs: LatencyUs;
  readonly requestsPerSecond: number;
  /** Responses that weren't 2xx/3xx, plus every connection, socket, timeout and parse error. */
  readonly errorCount: number;
  readonly consistency: Consistency;
}

const CHILD = fileURLToPath(new URL("./loadgen-child.ts", import.meta.url));

function assertLoopback(url: string): void {
  const { hostname } = new URL(url);
  if (hostname !== "127.0.0.1" && hostname !== "[::1]") throw new Error(`refusing to load ${hostname}: benchmarks only target loopback`);
}

export async function generateLoad(config: LoadConfig): Promise<LoadResult> {
  assertLoopback(config.url);
  // process.execArgv carries tsx's loader, so the child runs the TypeScript entry as this process does.
  const result = await runCommand(process.execPath, [...process.execArgv, CHILD], {
    env: { ...process.env, LOADGEN_CONFIG: JSON.stringify(config) },
    timeoutMs: (config.durationSeconds + 60) * 1000,
  });
  if (result.code !== 0) throw new Error(`load generator failed (${result.code}${result.timedOut ? ", timed out" : ""}): ${result.stderr.slice(-1000)}`);
  const raw = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as Omit<LoadResult, "requestsPerSecond" | "errorCount" | "consistency">;
  const requestsPerSecond = raw.durationS > 0 ? raw.requests / raw.durationS : 0;
  const badStatuses = Object.entries(raw.statuses).reduce((n, [status, count]) => (Number(status) >= 400 ? n + count : n), 0);
  return {
    ...raw,
    requestsPerSecond,
    errorCount: badStatuses + raw.errors.connect + raw.errors.socket + raw.errors.timeout + raw.errors.parse,
    consistency: checkConsistency(raw.connections, requestsPerSecond, raw.latencyUs.mean),
  };
}
