/** The contract every benchmark in bench/src/ fulfils, and where results go. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import { LOAD_GENERATOR } from "./loadgen.ts";
import { describeMachine, type Machine } from "./machine.ts";
import { SERVING_PATH } from "./serve.ts";
import type { Table } from "./table.ts";

export interface BenchmarkOutput {
  readonly tables: readonly Table[];
  /** Everything measured, for the JSON results (and the chart). */
  readonly data: unknown;
  /** Sentences for the reader: what was measured how, and what stands out. */
  readonly notes: readonly string[];
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(): Promise<BenchmarkOutput>;
}

export interface BenchmarkResult extends BenchmarkOutput {
  readonly name: string;
  readonly description: string;
  readonly startedAt: string;
  readonly durationS: number;
  readonly machineAtStart: Machine;
  readonly loadAverageAtEnd: number;
  readonly servingPath: string;
  readonly loadGenerator: string;
}

export const RESULTS_DIR = join(REPO_ROOT, "bench", "results");

export async function runBenchmark(benchmark: Benchmark): Promise<BenchmarkResult> {
  const machineAtStart = describeMachine();
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const output = await benchmark.run();
  return {
    name: benchmark.name,
    description: benchmark.description,
    startedAt,
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machineAtStart,
    loadAverageAtEnd: describeMachine().loadAverage1m,
    servingPath: SERVING_PATH,
    loadGenerator: LOAD_GENERATOR,
    ...output,
  };
}

export function writeResult(result: BenchmarkResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${result.name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
