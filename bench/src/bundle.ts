/**
 * bundle: both Workers as `wrangler deploy --dry-run` builds them — raw and
 * gzip size of the uploaded module — and their start-up cost in workerd:
 * CPU and wall time from spawn until ready, beside a one-line Worker (the
 * difference is script compile + module init).
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
    ];
    return {
      tables,
      data: { bundles: bundles.map(({ scriptPath: _scriptPath, ...b }) => b), starts, baseline },
      notes: [
        `Start = a new workerd via Miniflare until it serves (median of ${START_SAMPLES}); CPU from /proc at 10 ms resolution.`,
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
