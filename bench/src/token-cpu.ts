/**
 * token-cpu: workerd CPU time per token request on one connection, warm (keys,
 * settings and compiled policy in isolate memory) and cold (a new isolate:
 * module init, then a first request that loads the policy from D1, fetches
 * discovery + JWKS from the local issuer and imports the keys), beside the
 * floor and the no-op — the figures that decide whether the Workers free plan's
 * 10 ms CPU limit is safe. Then a CPU profile of the token path's parts.
 */
import { join } from "node:path";
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { tokenPathParts, timeOp } from "./lib/in-process.ts";
import { generateLoad } from "./lib/loadgen.ts";
import { cpuSeconds, clockTicksPerSecond } from "./lib/proc.ts";
import { profile, type ProfileSummary } from "./lib/profile.ts";
import { serveWorker, type ServedWorker } from "./lib/serve.ts";
import { fixed, type Table } from "./lib/table.ts";
import { SERVICE, startTokenStack, type TokenStack } from "./lib/token-stack.ts";

const WARM_SECONDS = 5;
const COLD_SAMPLES = 5;
/** The Workers free plan's CPU limit per request. */
const FREE_PLAN_CPU_MS = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function warmCpuMs(worker: ServedWorker, url: string, headers: Record<string, string>): Promise<{ cpuMs: number; requests: number }> {
  await generateLoad({ url, headers, connections: 1, durationSeconds: 1 });
  const before = await cpuSeconds(worker.workerdPid);
  const result = await generateLoad({ url, headers, connections: 1, durationSeconds: WARM_SECONDS });
  const after = await cpuSeconds(worker.workerdPid);
  if (result.errorCount > 0) throw new Error(`${url}: ${result.errorCount} errors during the CPU run`);
  return { cpuMs: ((after - before) * 1000) / result.requests, requests: result.requests };
}

interface ColdSample {
  /** workerd CPU from spawn to ready: process start + script compile + module init. */
  readonly startCpuMs: number;
  readonly firstRequestCpuMs: number;
  readonly firstRequestMs: number;
  readonly secondRequestCpuMs: number;
}

async function coldSample(stack: TokenStack): Promise<ColdSample> {
  const kvDir = makeTempDir("bench-cold-kv");
  // A fresh KV: the first request must fetch discovery and JWKS from the issuer.
  const worker = await stack.serveTokenServer({ kvPersist: kvDir });
  try {
    const ready = await cpuSeconds(worker.workerdPid);
    const started = performance.now();
    const first = await fetch(`${worker.url}/token?${stack.tokenUrl().split("?")[1] ?? ""}`, { headers: { Authorization: stack.basic("RS256") } });
    await first.text();
    const firstRequestMs = performance.now() - started;
    if (first.status !== 200) throw new Error(`cold token request answered ${first.status}`);
    const afterFirst = await cpuSeconds(worker.workerdPid);
    const second = await fetch(`${worker.url}/token?${stack.tokenUrl().split("?")[1] ?? ""}`, { headers: { Authorization: stack.basic("RS256") } });
    await second.text();
    const afterSecond = await cpuSeconds(worker.workerdPid);
    return { startCpuMs: ready * 1000, firstRequestCpuMs: (afterFirst - ready) * 1000, firstRequestMs, secondRequestCpuMs: (afterSecond - afterFirst) * 1000 };
  } finally {
    await worker.stop();
    removeDir(kvDir);
  }
}

/** workerd's start-up CPU with a one-line Worker: what the token server's start costs beyond it is its script and module init. */
async function baselineStartCpuMs(compatibilityDate: string): Promise<number> {
  const worker = await serveWorker({ script: "export default { fetch() { return new Response(null); } };", compatibilityDate });
  try {
    return (await cpuSeconds(worker.workerdPid)) * 1000;
  } finally {
    await worker.stop();
  }
}

async function run(): Promise<BenchmarkOutput> {
  const stack = await startTokenStack();
  const profileDir = makeTempDir("bench-profile");
  try {
    const auth = { Authorization: stack.basic("RS256") };
    const warm = {
      token: await warmCpuMs(stack.tokenServer, stack.tokenUrl(), auth),
      floor: await warmCpuMs(stack.floor, stack.floorUrl(), auth),
      noop: await warmCpuMs(stack.floor, stack.noopUrl(), {}),
    };

    const cold: ColdSample[] = [];
    const baselines: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      baselines.push(await baselineStartCpuMs(stack.bundles.tokenServer.compatibilityDate));
      cold.push(await coldSample(stack));
    }
    const coldMedian = {
      startCpuMs: median(cold.map((c) => c.startCpuMs)),
      baselineStartCpuMs: median(baselines),
      firstRequestCpuMs: median(cold.map((c) => c.firstRequestCpuMs)),
      firstRequestMs: median(cold.map((c) => c.firstRequestMs)),
      secondRequestCpuMs: median(cold.map((c) => c.secondRequestCpuMs)),
    };
    const moduleInitMs = coldMedian.startCpuMs - coldMedian.baselineStartCpuMs;

    const kv = (await stack.tokenServer.miniflare.getKVNamespace("JWKS_CACHE")) as unknown as KVNamespace;
    const parts = await tokenPathParts({ provider: stack.providerConfigs.RS256, jwt: stack.providers.RS256.jwt, service: SERVICE, access: stack.access, bindings: stack.bindings, kv });
    const stages = {
      verify: (await timeOp(parts.verify)).usPerOp,
      decide: (await timeOp(parts.decide)).usPerOp,
      sign: (await timeOp(parts.sign)).usPerOp,
    };
    const slowest = (Object.entries(stages) as [keyof typeof stages, number][]).sort((a, b) => b[1] - a[1])[0] as [string, number];
    const summary: ProfileSummary = await profile(async () => {
      const end = performance.now() + 3000;
      while (performance.now() < end) {
        await parts.verify();
        parts.decide();
        await parts.sign();
      }
    }, join(profileDir, "token-path.cpuprofile"));

    const tick = 1000 / (await clockTicksPerSecond());
    const tables: Table[] = [
      {
        title: "token-cpu: workerd CPU per request, 1 connection, warm isolate",
        columns: ["endpoint", "requests", "CPU ms/request", "minus no-op", `share of ${FREE_PLAN_CPU_MS} ms`],
        rows: (["token", "floor", "noop"] as const).map((k) => [
          k,
          String(warm[k].requests),
          fixed(warm[k].cpuMs, 3),
          k === "noop" ? "" : fixed(warm[k].cpuMs - warm.noop.cpuMs, 3),
          k === "noop" ? "" : `${fixed(((warm[k].cpuMs - warm.noop.cpuMs) / FREE_PLAN_CPU_MS) * 100, 1)}%`,
        ]),
      },
      {
        title: `token-cpu: cold isolate (median of ${COLD_SAMPLES}; /proc resolution ${fixed(tick, 0)} ms)`,
        columns: ["what", "CPU ms"],
        rows: [
          ["workerd start with the token server (process + compile + module init)", fixed(coldMedian.startCpuMs, 0)],
          ["workerd start with a one-line Worker", fixed(coldMedian.baselineStartCpuMs, 0)],
          ["→ token server script compile + module init", fixed(moduleInitMs, 0)],
          ["first request (D1 policy load + compile, discovery + JWKS fetch, key imports, sign)", fixed(coldMedian.firstRequestCpuMs, 0)],
          ["second request (warm)", fixed(coldMedian.secondRequestCpuMs, 0)],
          ["first request wall time, ms", fixed(coldMedian.firstRequestMs, 1)],
        ],
      },
      {
        title: "token-cpu: the token path's parts in-process (Node), µs per call",
        columns: ["part", "µs"],
        rows: Object.entries(stages).map(([k, v]) => [k, fixed(v, 1)]),
      },
      {
        title: `token-cpu: CPU profile of verify + decide + sign in Node (${fixed(summary.totalMs, 0)} ms sampled), self time by part`,
        columns: ["part", "self ms", "share"],
        rows: summary.parts.slice(0, 8).map((p) => [p.name, fixed(p.selfMs, 0), `${fixed(p.share * 100, 1)}%`]),
      },
      {
        title: "token-cpu: hottest functions (self time)",
        columns: ["function", "self ms", "share"],
        rows: summary.functions.slice(0, 10).map((f) => [f.name, fixed(f.selfMs, 0), `${fixed(f.share * 100, 1)}%`]),
      },
    ];
    return {
      tables,
      data: { warm, cold, coldMedian, moduleInitMs, stages, profile: { parts: summary.parts, functions: summary.functions } },
      notes: [
        `CPU = workerd's utime+stime from /proc over ${WARM_SECONDS} s of back-to-back requests, ÷ requests; "minus no-op" removes what the serving path (Miniflare's entry worker, HTTP) costs any request.`,
        `Slowest part of the token path in-process: ${slowest[0]} (${fixed(slowest[1], 0)} µs per request).`,
        "In-process figures use Node's WebCrypto (OpenSSL); workerd's is BoringSSL: compare them with each other, not with workerd's.",
      ],
    };
  } finally {
    await stack.stop();
    removeDir(profileDir);
  }
}

export const tokenCpu: Benchmark = {
  name: "token-cpu",
  description: "workerd CPU per token request (warm and cold isolate) vs floor and no-op; profile of the token path",
  run,
};
