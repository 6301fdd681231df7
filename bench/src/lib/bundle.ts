/**
 * A Worker bundled exactly as it would be deployed: `wrangler deploy --dry-run
 * --outdir`, offline. The bundle is what the benchmarks serve with Miniflare.
 */
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { isAbsolute, join } from "node:path";
import { runCommand } from "@jwt-registry-auth/testkit/process";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import { wranglerEnv } from "@jwt-registry-auth/testkit/wrangler";

export interface Bundle {
  /** The wrangler config, relative to the repo root. */
  readonly config: string;
  /** The bundled entry module (ES module). */
  readonly scriptPath: string;
  readonly compatibilityDate: string;
  readonly rawBytes: number;
  readonly gzipBytes: number;
  /** What wrangler printed as "Total Upload: …", for comparison with our own figures. */
  readonly wranglerSummary: string;
  readonly buildMs: number;
}

/** The config's `compatibility_date`, so the bundle runs with the date it was written for. */
export function compatibilityDateOf(tomlText: string): string {
  const match = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"\s*$/m.exec(tomlText);
  if (!match) throw new Error("wrangler config has no compatibility_date");
  return match[1] as string;
}

export async function bundleWorker(config: string, outDir: string): Promise<Bundle> {
  const configPath = isAbsolute(config) ? config : join(REPO_ROOT, config);
  const wrangler = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = await runCommand(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outDir, "--config", configPath], {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`wrangler deploy --dry-run --config ${config} failed (${result.code}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
  const scriptPath = join(outDir, "index.js");
  const code = readFileSync(scriptPath);
  return {
    config,
    scriptPath,
    compatibilityDate: compatibilityDateOf(readFileSync(configPath, "utf8")),
    rawBytes: statSync(scriptPath).size,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    wranglerSummary: /Total Upload: ([^\n]+)/.exec(result.stdout)?.[1]?.trim() ?? "",
    buildMs: result.durationMs,
  };
}
