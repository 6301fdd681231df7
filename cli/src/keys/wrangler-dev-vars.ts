/**
 * Test helper: reads a `.dev.vars` file exactly as wrangler 4.86 does for
 * `wrangler dev` (its bundled dotenv, through its own unstable_getVarsForDev).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_getVarsForDev } from "wrangler";

export function wranglerDevVars(text: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "jra-devvars-"));
  try {
    writeFileSync(join(dir, ".dev.vars"), text);
    const vars = unstable_getVarsForDev(join(dir, "wrangler.toml"), undefined, {}, undefined, true);
    return Object.fromEntries(Object.entries(vars).map(([name, binding]) => [name, String((binding as { value: unknown }).value)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
