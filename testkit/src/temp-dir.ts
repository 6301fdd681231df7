/**
 * Unique scratch directories. Every harness piece takes its own, so tests that
 * run at the same time (other workspaces, other files) never share state.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates `$TMPDIR/jra-<label>-XXXXXX`. */
export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `jra-${label.replace(/[^a-z0-9-]/gi, "-")}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
