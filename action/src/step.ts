/** Runs a step body the way the runner expects a failure: an `::error::` line and exit code 1, never a stack trace. */
import type { Runner } from "./runner.ts";

export async function runStep(runner: Runner, body: () => unknown): Promise<void> {
  try {
    await body();
  } catch (error) {
    runner.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
