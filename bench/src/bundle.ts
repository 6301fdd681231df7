/**
 * bundle: both Workers as `wrangler deploy --dry-run` builds them — raw and
 * gzip size of the uploaded module — and their start-up cost in workerd:
 * CPU and wall time from spawn until ready, beside a one-line Worker (the
 * difference is script compile + module init). Then each bundle's composition
 * by package (esbuild's metafile), the size budget (issue 12: token server ≤
 * 100 KiB gzip, proxy ≤ 40 KiB) and whether the bundle is ASCII-only (one
 * non-ASCII byte makes V8 keep the whole source as UTF-16).
 */
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import { join } from "node:path";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { bundleWorker, type Bundle } from "./lib/bundle.ts";
import { cpuSeconds } from "./lib/proc.ts";
import { serveWorker, type ServeOptions } from "./lib/serve.ts";
import { fixed, kib, type Table } from "./lib/table.ts";
import { PROXY_CONFIG } from "./lib/proxy-stack.ts";
import { TOKEN_SERVER_CONFIG } from "./lib/token-stack.ts";

const START_SAMPLES = 5;
/** Issue 12's gzip budgets, KiB. */
const GZIP_BUDGET_KIB: Readonly<Record<string, number>> = { [TOKEN_SERVER_CONFIG]: 100, [PROXY_CONFIG]: 40 };
/** Packages listed per Worker; the rest are summed in one row. */
const TOP_PACKAGES = 12;

interface StartFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function startCost(options: ServeOptions): Promise<StartFigures> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < START_SAMPLES; i++) {
    const started = performance.now();
    const worker = await serveWorker(options);
    wall.push(performance.now() - started);
    cpu.push((await cpuSeconds(worker.workerdPid)) * 1000);
    await worker.stop();
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

async function run(): Promise<BenchmarkOutput> {
  const dir = makeTempDir("bench-bundle");
  try {
    const bundles: Bundle[] = [await bundleWorker(TOKEN_SERVER_CONFIG, join(dir, "token-server")), await bundleWorker(PROXY_CONFIG, join(dir, "proxy"))];
    const compatibilityDate = bundles[0]?.compatibilityDate ?? "2026-04-20";
    const baseline = await startCost({ script: "export default { fetch() { return new Response(null); } };", compatibilityDate });
    const starts: StartFigures[] = [];
    // Bindings are left out: module init doesn't touch them, and start-up is what is measured.
    for (const bundle of bundles) starts.push(await startCost({ scriptPath: bundle.scriptPath, compatibilityDate: bundle.compatibilityDate }));
    const tables: Table[] = [
      {
        title: "bundle: wrangler deploy --dry-run output and start-up in workerd",
        columns: ["Worker", "raw", "gzip -9", "wrangler says", "start wall ms", "start CPU ms", "minus one-line Worker (CPU ms)"],
        rows: [
          ...bundles.map((b, i) => [
            b.config,
            kib(b.rawBytes),
            kib(b.gzipBytes),
            b.wranglerSummary,
            fixed(starts[i]?.wallMs ?? Number.NaN, 0),
            fixed(starts[i]?.cpuMs ?? Number.NaN, 0),
            fixed((starts[i]?.cpuMs ?? Number.NaN) - baseline.cpuMs, 0),
          ]),
          ["(one-line Worker)", "", "", "", fixed(baseline.wallMs, 0), fixed(baseline.cpuMs, 0), ""],
        ],
      },
      {
        title: "bundle: size budget (gzip -9) and ASCII-only source",
        columns: ["Worker", "gzip -9", "budget", "within", "non-ASCII bytes", "first places"],
        rows: bundles.map((b) => {
          const budget = GZIP_BUDGET_KIB[b.config] ?? Number.NaN;
          return [b.config, kib(b.gzipBytes), `${fixed(budget, 0)} KiB`, b.gzipBytes <= budget * 1024 ? "yes" : "no", String(b.nonAscii.bytes), b.nonAscii.samples.slice(0, 2).join(" ")];
        }),
      },
      ...bundles.map((b): Table => {
        const total = b.packages.reduce((n, p) => n + p.bytes, 0);
        const rest = b.packages.slice(TOP_PACKAGES);
        const share = (bytes: number): string => `${fixed((bytes / total) * 100, 1)}%`;
        return {
          title: `bundle: ${b.config} by package (esbuild bytesInOutput, minified, before gzip)`,
          columns: ["package", "bytes", "share"],
          rows: [
            ...b.packages.slice(0, TOP_PACKAGES).map((p) => [p.name, String(p.bytes), share(p.bytes)]),
            ...(rest.length > 0 ? [[`(${rest.length} more)`, String(rest.reduce((n, p) => n + p.bytes, 0)), share(rest.reduce((n, p) => n + p.bytes, 0))]] : []),
            ["total", String(total), ""],
          ],
        };
      }),
    ];
    return {
      tables,
      data: { bundles: bundles.map(({ scriptPath: _scriptPath, ...b }) => b), starts, baseline, budgetsKib: GZIP_BUDGET_KIB },
      notes: [
        `Start = a new workerd via Miniflare until it serves (median of ${START_SAMPLES}); CPU from /proc at 10 ms resolution.`,
        "By package: esbuild's metafile (wrangler --metafile) bytes each input contributes to the output; (repo) X = this repository's X/ workspace; the total is below the file size by esbuild's own glue.",
      ],
    };
  } finally {
    removeDir(dir);
  }
}

export const bundle: Benchmark = {
  name: "bundle",
  description: "wrangler deploy --dry-run sizes (raw, gzip) of both Workers and their start-up cost",
  run,
};
