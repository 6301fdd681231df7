/**
 * A Worker bundled exactly as it would be deployed: `wrangler deploy --dry-run
 * --outdir`, offline. The bundle is what the benchmarks serve with Miniflare.
 */
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
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
  /** Bytes of the bundle per package (esbuild's metafile, `bytesInOutput`), largest first. */
  readonly packages: readonly PackageBytes[];
  /** Bytes ≥ 0x80 in the bundle: any one makes V8 hold the whole source as UTF-16. */
  readonly nonAscii: NonAscii;
}

export interface PackageBytes {
  readonly name: string;
  readonly bytes: number;
}

export interface NonAscii {
  readonly bytes: number;
  /** Up to five places, each with the text around it (JSON-escaped). */
  readonly samples: readonly string[];
}

interface Metafile {
  readonly outputs: Readonly<Record<string, { readonly inputs: Readonly<Record<string, { readonly bytesInOutput: number }>> }>>;
}

/**
 * The package an esbuild input path belongs to: the npm package after the last
 * node_modules/ (scoped or not), else the repository's own top directory
 * (a workspace package), else the path itself (wrangler's injected shims).
 */
export function packageOf(inputPath: string): string {
  const path = inputPath.replace(/\\/g, "/");
  const at = path.lastIndexOf("node_modules/");
  if (at >= 0) {
    const parts = path.slice(at + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") === true ? `${parts[0]}/${parts[1] ?? ""}` : (parts[0] ?? path);
  }
  const parts = path.split("/").filter((p) => p !== "" && p !== ".." && p !== ".");
  return parts.length > 1 ? `(repo) ${parts[0] ?? ""}` : path;
}

/**
 * Bytes per package over every output of a metafile, largest first. esbuild
 * names inputs relative to the config's directory; `configDir` (relative to
 * the repo root) puts them back under the repo root, so proxy-worker/src/x.ts
 * counts as the proxy-worker workspace, not "src".
 */
export function packageBytes(metafile: Metafile, configDir = "."): PackageBytes[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input.includes(":") ? input : relative(".", join(configDir, input)));
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

export function nonAsciiOf(code: Buffer): NonAscii {
  let bytes = 0;
  const samples: string[] = [];
  for (let i = 0; i < code.length; i++) {
    if ((code[i] as number) < 0x80) continue;
    bytes++;
    // One sample per character: skip UTF-8 continuation bytes of the one just sampled.
    if (samples.length < 5 && ((code[i] as number) & 0xc0) !== 0x80) samples.push(JSON.stringify(code.subarray(Math.max(0, i - 40), i + 40).toString("utf8")));
  }
  return { bytes, samples };
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
  const result = await runCommand(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outDir, "--metafile", join(outDir, "bundle-meta.json"), "--config", configPath], {
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
    packages: packageBytes(JSON.parse(readFileSync(join(outDir, "bundle-meta.json"), "utf8")) as Metafile, relative(REPO_ROOT, dirname(resolve(configPath)))),
    nonAscii: nonAsciiOf(code),
  };
}
