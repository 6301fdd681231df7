/**
 * soak: 60 s at 64 connections against the token endpoint, then 60 s of mixed
 * pulls through the proxy (manifest GETs and 1 MiB blob GETs at once): error
 * counts (must read 0), throughput per 10 s, and workerd RSS at start and end.
 *
 * The token server soaked is its own instance, served with workerd's inspector
 * open, so the isolate's V8 heap is read beside RSS: RSS is the whole workerd
 * process (workerd's buffers and the local D1/KV simulators included), the V8
 * heap is the Worker's JS. `BENCH_SOAK_SECONDS=10 npm run bench -- soak` is a
 * short smoke run.
 */
import { OCI_MANIFEST } from "@jwt-registry-auth/testkit/image";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { generateLoad, type LoadResult } from "./lib/loadgen.ts";
import { connectInspector, heapAfterGc, sampleHeap, type HeapSample, type HeapUsage } from "./lib/inspector.ts";
import { readMemory } from "./lib/proc.ts";
import { PULL_REPOSITORY, startProxyStack } from "./lib/proxy-stack.ts";
import { fixed, mib, ms, type Table } from "./lib/table.ts";

const SOAK_SECONDS = 60;
const MiB = 1024 * 1024;
/** Issue 12's targets for the token server's isolate at 64 connections. */
const LIVE_HEAP_TARGET = 16 * MiB;
const RESERVED_HEAP_TARGET = 64 * MiB;
const TOKEN_CONNECTIONS = 64;
const MANIFEST_CONNECTIONS = 8;
const BLOB_CONNECTIONS = 4;
const BLOB_SIZE = 1024 * 1024;
const WINDOW_SECONDS = 10;

/** Requests/s in consecutive full windows, from the per-second counts; the tail past the last full window (in-flight requests draining) is left out. */
export function windows(perSecond: readonly number[], seconds = WINDOW_SECONDS): number[] {
  const out: number[] = [];
  for (let start = 0; start + seconds <= perSecond.length; start += seconds) {
    const slice = perSecond.slice(start, start + seconds);
    out.push(slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  return out;
}

/** The soak's length per load: `BENCH_SOAK_SECONDS` (whole seconds, 1–3600) or 60. */
export function soakSeconds(value: string | undefined): number {
  if (value === undefined || value === "") return SOAK_SECONDS;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new Error(`BENCH_SOAK_SECONDS must be whole seconds from 1 to 3600, got ${JSON.stringify(value)}`);
  return seconds;
}

/** How often the heap is read: every window (10 s), or five times in a shorter soak. */
export function heapIntervalSeconds(soak: number): number {
  return Math.min(WINDOW_SECONDS, soak / 5);
}

export interface HeapSeries {
  readonly liveStart: HeapUsage;
  readonly liveEnd: HeapUsage;
  /** V8 heap (and workerd RSS) while the load runs. */
  readonly samples: readonly (HeapSample & { readonly rssBytes: number })[];
}

/** One row per reading while the load ran, then the live heap (after a full GC) at start and end. */
export function heapRows(series: HeapSeries): string[][] {
  const during = series.samples.map((s) => [`${fixed(s.seconds)} s`, mib(s.rssBytes), mib(s.usedBytes), mib(s.totalBytes)]);
  return [
    ["start, after GC", "", mib(series.liveStart.usedBytes), mib(series.liveStart.totalBytes)],
    ...during,
    ["end, after GC", "", mib(series.liveEnd.usedBytes), mib(series.liveEnd.totalBytes)],
  ];
}

/** The heap figures against issue 12's targets, in words. */
export function heapVerdict(series: HeapSeries): string {
  const maxReserved = Math.max(series.liveEnd.totalBytes, ...series.samples.map((s) => s.totalBytes));
  const maxLive = Math.max(series.liveStart.usedBytes, series.liveEnd.usedBytes);
  return (
    `Token server isolate: live heap after GC ${mib(series.liveStart.usedBytes)} → ${mib(series.liveEnd.usedBytes)} (target ≤ ${mib(LIVE_HEAP_TARGET)} and flat: ${maxLive <= LIVE_HEAP_TARGET ? "met" : "missed"}); ` +
    `V8 reserved heap at most ${mib(maxReserved)} (target ≤ ${mib(RESERVED_HEAP_TARGET)} at ${TOKEN_CONNECTIONS} connections: ${maxReserved <= RESERVED_HEAP_TARGET ? "met" : "missed"}).`
  );
}

interface SoakRun {
  readonly name: string;
  readonly result: LoadResult;
  readonly rssStart: number;
  readonly rssEnd: number;
}

function rows(run: SoakRun): string[] {
  const r = run.result;
  return [
    run.name,
    String(r.connections),
    String(r.requests),
    fixed(r.requestsPerSecond),
    ms(r.latencyUs.p50),
    ms(r.latencyUs.p99),
    String(r.errorCount),
    windows(r.perSecond).map((w) => fixed(w)).join(" · "),
    `${mib(run.rssStart)} → ${mib(run.rssEnd)}`,
  ];
}

/** Soaks a token server served with the inspector open, reading its V8 heap throughout. */
async function soakTokenServer(stack: Awaited<ReturnType<typeof startProxyStack>>, seconds: number): Promise<{ run: SoakRun; heap: HeapSeries }> {
  const tokenServer = await stack.tokens.serveTokenServer({ inspector: true });
  if (tokenServer.inspectorUrl === undefined) throw new Error("the token server was served without its inspector");
  const url = `${tokenServer.url}/token?${new URL(stack.tokens.tokenUrl()).search.slice(1)}`;
  const headers = { Authorization: stack.tokens.basic("RS256") };
  // One request first, so the start reading is a serving isolate (policies compiled, keys imported), not a bare one.
  const first = await fetch(url, { headers });
  await first.text();
  if (first.status !== 200) throw new Error(`soak token server answered ${first.status}`);
  const inspector = await connectInspector(tokenServer.inspectorUrl);
  try {
    const liveStart = await heapAfterGc(inspector);
    const rssStart = readMemory(tokenServer.workerdPid).rssBytes;
    const sampler = sampleHeap(inspector, heapIntervalSeconds(seconds) * 1000, () => ({ rssBytes: readMemory(tokenServer.workerdPid).rssBytes }));
    const result = await generateLoad({ url, headers, connections: TOKEN_CONNECTIONS, durationSeconds: seconds });
    const samples = (await sampler.stop()) as (HeapSample & { rssBytes: number })[];
    const rssEnd = readMemory(tokenServer.workerdPid).rssBytes;
    const liveEnd = await heapAfterGc(inspector);
    return { run: { name: "token endpoint", result, rssStart, rssEnd }, heap: { liveStart, liveEnd, samples } };
  } finally {
    inspector.close();
    await tokenServer.stop();
  }
}

async function run(): Promise<BenchmarkOutput> {
  const seconds = soakSeconds(process.env["BENCH_SOAK_SECONDS"]);
  const stack = await startProxyStack([BLOB_SIZE]);
  try {
    const { run: tokenRun, heap } = await soakTokenServer(stack, seconds);

    const layer = stack.image.layers[0];
    if (layer === undefined) throw new Error("no blob to pull");
    const proxyStart = readMemory(stack.proxy.workerdPid).rssBytes;
    const [manifests, blobs] = await Promise.all([
      generateLoad({ url: stack.manifestUrl("proxy"), headers: { Accept: OCI_MANIFEST, ...stack.bearer }, connections: MANIFEST_CONNECTIONS, durationSeconds: seconds }),
      generateLoad({ url: `${stack.base("proxy")}/v2/${PULL_REPOSITORY}/blobs/${layer.digest}`, headers: stack.bearer, connections: BLOB_CONNECTIONS, durationSeconds: seconds }),
    ]);
    const proxyEnd = readMemory(stack.proxy.workerdPid).rssBytes;
    const proxyRuns: SoakRun[] = [
      { name: "proxy: manifest GET", result: manifests, rssStart: proxyStart, rssEnd: proxyEnd },
      { name: "proxy: 1 MiB blob GET", result: blobs, rssStart: proxyStart, rssEnd: proxyEnd },
    ];
    const all = [tokenRun, ...proxyRuns];
    const tables: Table[] = [
      {
        title: `soak: ${seconds} s each (token endpoint alone; then both proxy pulls at once)`,
        columns: ["load", "conns", "requests", "req/s", "p50", "p99", "errors", `req/s per ${WINDOW_SECONDS} s`, "workerd RSS start → end"],
        rows: all.map(rows),
      },
      {
        title: `token server isolate during the soak: workerd RSS (whole process) and the V8 heap (the Worker's JS), read through the inspector every ${fixed(heapIntervalSeconds(seconds), 1)} s`,
        columns: ["time", "workerd RSS", "V8 used (live + garbage)", "V8 total (reserved)"],
        rows: heapRows(heap),
      },
    ];
    const errors = all.reduce((n, r) => n + r.result.errorCount, 0);
    return {
      tables,
      data: { runs: all.map((r) => ({ name: r.name, rssStart: r.rssStart, rssEnd: r.rssEnd, ...r.result })), tokenServerHeap: heap, soakSeconds: seconds },
      notes: [
        errors === 0
          ? "No errors: every response was 2xx and no connection failed."
          : `${errors} errors: ${all.filter((r) => r.result.errorCount > 0).map((r) => `${r.name} ${JSON.stringify(r.result.statuses)}, ${JSON.stringify(r.result.errors)}`).join("; ")}.`,
        heapVerdict(heap),
        "V8 used is every object on the JS heap, garbage not yet collected included; read right after a heap snapshot (V8 collects all garbage first) it is the live heap. V8 total is what V8 has reserved for the heap. workerd RSS is the whole process: V8's heap is part of it, and so are workerd's own buffers and the local D1/KV simulators, so RSS growing alone is no leak in the Worker.",
        "The token server soaked is a fresh instance on the same D1, with workerd's inspector open (an attached inspector makes console.log dearer, so its throughput reads a little below token-throughput's).",
        "Blob GETs through the proxy are 1 MiB each, streamed from the registry; RSS is the workerd process serving the proxy (or the token server).",
      ],
    };
  } finally {
    await stack.stop();
  }
}

export const soak: Benchmark = {
  name: "soak",
  description: "60 s at 64 connections on the token endpoint, 60 s of mixed pulls through the proxy: errors, throughput over time, RSS, and the token server's V8 heap (live after GC, used and reserved)",
  run,
};
