/**
 * soak: 60 s at 64 connections against the token endpoint, then 60 s of mixed
 * pulls through the proxy (manifest GETs and 1 MiB blob GETs at once): error
 * counts (must read 0), throughput per 10 s, and workerd RSS at start and end.
 */
import { OCI_MANIFEST } from "@jwt-registry-auth/testkit/image";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { generateLoad, type LoadResult } from "./lib/loadgen.ts";
import { readMemory } from "./lib/proc.ts";
import { PULL_REPOSITORY, startProxyStack } from "./lib/proxy-stack.ts";
import { fixed, mib, ms, type Table } from "./lib/table.ts";

const SOAK_SECONDS = 60;
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

async function run(): Promise<BenchmarkOutput> {
  const stack = await startProxyStack([BLOB_SIZE]);
  try {
    const tokenServer = stack.tokens.tokenServer;
    const tokenStart = readMemory(tokenServer.workerdPid).rssBytes;
    const tokenResult = await generateLoad({ url: stack.tokens.tokenUrl(), headers: { Authorization: stack.tokens.basic("RS256") }, connections: TOKEN_CONNECTIONS, durationSeconds: SOAK_SECONDS });
    const tokenRun: SoakRun = { name: "token endpoint", result: tokenResult, rssStart: tokenStart, rssEnd: readMemory(tokenServer.workerdPid).rssBytes };

    const layer = stack.image.layers[0];
    if (layer === undefined) throw new Error("no blob to pull");
    const proxyStart = readMemory(stack.proxy.workerdPid).rssBytes;
    const [manifests, blobs] = await Promise.all([
      generateLoad({ url: stack.manifestUrl("proxy"), headers: { Accept: OCI_MANIFEST, ...stack.bearer }, connections: MANIFEST_CONNECTIONS, durationSeconds: SOAK_SECONDS }),
      generateLoad({ url: `${stack.base("proxy")}/v2/${PULL_REPOSITORY}/blobs/${layer.digest}`, headers: stack.bearer, connections: BLOB_CONNECTIONS, durationSeconds: SOAK_SECONDS }),
    ]);
    const proxyEnd = readMemory(stack.proxy.workerdPid).rssBytes;
    const proxyRuns: SoakRun[] = [
      { name: "proxy: manifest GET", result: manifests, rssStart: proxyStart, rssEnd: proxyEnd },
      { name: "proxy: 1 MiB blob GET", result: blobs, rssStart: proxyStart, rssEnd: proxyEnd },
    ];
    const all = [tokenRun, ...proxyRuns];
    const tables: Table[] = [
      {
        title: `soak: ${SOAK_SECONDS} s each (token endpoint alone; then both proxy pulls at once)`,
        columns: ["load", "conns", "requests", "req/s", "p50", "p99", "errors", `req/s per ${WINDOW_SECONDS} s`, "workerd RSS start → end"],
        rows: all.map(rows),
      },
    ];
    const errors = all.reduce((n, r) => n + r.result.errorCount, 0);
    return {
      tables,
      data: all.map((r) => ({ name: r.name, rssStart: r.rssStart, rssEnd: r.rssEnd, ...r.result })),
      notes: [
        errors === 0
          ? "No errors: every response was 2xx and no connection failed."
          : `${errors} errors: ${all.filter((r) => r.result.errorCount > 0).map((r) => `${r.name} ${JSON.stringify(r.result.statuses)}, ${JSON.stringify(r.result.errors)}`).join("; ")}.`,
        "Blob GETs through the proxy are 1 MiB each, streamed from the registry; RSS is the workerd process serving the proxy (or the token server).",
      ],
    };
  } finally {
    await stack.stop();
  }
}

export const soak: Benchmark = {
  name: "soak",
  description: "60 s at 64 connections on the token endpoint, 60 s of mixed pulls through the proxy: errors, throughput over time, RSS",
  run,
};
