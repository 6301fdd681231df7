/**
 * proxy-overhead: the proxy Worker against going straight to the Debian
 * `docker-registry`, same run: manifest GET latency, blob pull and push
 * throughput (16 MiB and 256 MiB), and workerd's RSS while a 1 GiB blob
 * streams through in each direction (a buffered body would show as ~1 GiB).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { buildOciImage, OCI_MANIFEST } from "@jwt-registry-auth/testkit/image";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { pullBlob, pushBlob, type Transfer } from "./lib/blob-transfer.ts";
import { generateLoad } from "./lib/loadgen.ts";
import { readMemory, sampleMemory } from "./lib/proc.ts";
import { PULL_REPOSITORY, PUSH_REPOSITORIES, startProxyStack, type ProxyStack } from "./lib/proxy-stack.ts";
import { fixed, mib, ms, ratio, type Table } from "./lib/table.ts";

const MIB = 1024 * 1024;
const BLOB_SIZES = [16 * MIB, 256 * MIB] as const;
const BIG_BLOB = 1024 * MIB;
const MANIFEST_SECONDS = 4;
/** Transfers per blob, path and direction, alternating direct and proxy; the fastest counts (the others met more noise). */
const TRANSFERS = 2;

function fastest(transfers: readonly Transfer[]): Transfer {
  return [...transfers].sort((a, b) => a.seconds - b.seconds)[0] as Transfer;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

async function manifestLatency(stack: ProxyStack, via: "proxy" | "direct", connections: number) {
  const headers = { Accept: OCI_MANIFEST, ...(via === "proxy" ? stack.bearer : {}) };
  const result = await generateLoad({ url: stack.manifestUrl(via), headers, connections, durationSeconds: MANIFEST_SECONDS });
  return { via, connections, requestsPerSecond: result.requestsPerSecond, latencyUs: result.latencyUs, errorCount: result.errorCount, consistencyRatio: result.consistency.ratio };
}

interface BlobFigures {
  readonly size: number;
  readonly pull: { readonly proxy: Transfer; readonly direct: Transfer };
  readonly push: { readonly proxy: Transfer; readonly direct: Transfer };
}

async function run(): Promise<BenchmarkOutput> {
  const stack = await startProxyStack(BLOB_SIZES);
  const big = await buildOciImage({ layers: [{ size: BIG_BLOB, compression: "none" }] });
  try {
    await generateLoad({ url: stack.manifestUrl("proxy"), headers: { Accept: OCI_MANIFEST, ...stack.bearer }, connections: 4, durationSeconds: 1 });
    const manifests: Awaited<ReturnType<typeof manifestLatency>>[] = [];
    for (const connections of [1, 16]) for (const via of ["direct", "proxy"] as const) manifests.push(await manifestLatency(stack, via, connections));

    const blobs: BlobFigures[] = [];
    for (const layer of stack.image.layers) {
      // Untimed first read: both paths then read the registry's files from the page cache.
      await pullBlob(stack.base("direct"), PULL_REPOSITORY, layer.digest);
      const pulls = { direct: [] as Transfer[], proxy: [] as Transfer[] };
      const pushes = { direct: [] as Transfer[], proxy: [] as Transfer[] };
      for (let i = 0; i < TRANSFERS; i++) {
        pulls.direct.push(await pullBlob(stack.base("direct"), PULL_REPOSITORY, layer.digest));
        pulls.proxy.push(await pullBlob(stack.base("proxy"), PULL_REPOSITORY, layer.digest, stack.bearer));
        pushes.direct.push(await pushBlob(stack.base("direct"), PUSH_REPOSITORIES.direct, layer.digest, layer.path));
        pushes.proxy.push(await pushBlob(stack.base("proxy"), PUSH_REPOSITORIES.proxy, layer.digest, layer.path, stack.bearer));
      }
      blobs.push({ size: layer.size, pull: { direct: fastest(pulls.direct), proxy: fastest(pulls.proxy) }, push: { direct: fastest(pushes.direct), proxy: fastest(pushes.proxy) } });
    }

    const bigLayer = big.layers[0];
    if (bigLayer === undefined) throw new Error("no 1 GiB layer");
    const bigDigest = await sha256File(bigLayer.path);
    const pid = stack.proxy.workerdPid;
    const rssBefore = readMemory(pid).rssBytes;
    const pushSampler = sampleMemory(pid, 50);
    const bigPush = await pushBlob(stack.base("proxy"), PUSH_REPOSITORIES.proxy, bigDigest, bigLayer.path, stack.bearer);
    const pushMemory = pushSampler.stop();
    const pullSampler = sampleMemory(pid, 50);
    const bigPull = await pullBlob(stack.base("proxy"), PUSH_REPOSITORIES.proxy, bigDigest, stack.bearer);
    const pullMemory = pullSampler.stop();
    if (bigPull.bytes !== bigLayer.size) throw new Error(`1 GiB pull returned ${bigPull.bytes} bytes`);

    const tables: Table[] = [
      {
        title: "proxy-overhead: manifest GET (OCI Accept), proxy vs straight to docker-registry",
        columns: ["via", "conns", "req/s", "p50", "p99", "proxy ÷ direct p50", "Little's law", "errors"],
        rows: manifests.map((m) => {
          const direct = manifests.find((d) => d.via === "direct" && d.connections === m.connections);
          return [m.via, String(m.connections), fixed(m.requestsPerSecond), ms(m.latencyUs.p50), ms(m.latencyUs.p99), m.via === "proxy" && direct ? ratio(m.latencyUs.p50, direct.latencyUs.p50) : "", fixed(m.consistencyRatio, 2), String(m.errorCount)];
        }),
      },
      {
        title: `proxy-overhead: blob throughput, MiB/s (fastest of ${TRANSFERS}, alternating, streamed)`,
        columns: ["blob", "pull direct", "pull proxy", "pull proxy ÷ direct", "push direct", "push proxy", "push proxy ÷ direct"],
        rows: blobs.map((b) => [
          mib(b.size),
          fixed(b.pull.direct.mibPerSecond),
          fixed(b.pull.proxy.mibPerSecond),
          ratio(b.pull.proxy.mibPerSecond, b.pull.direct.mibPerSecond),
          fixed(b.push.direct.mibPerSecond),
          fixed(b.push.proxy.mibPerSecond),
          ratio(b.push.proxy.mibPerSecond, b.push.direct.mibPerSecond),
        ]),
      },
      {
        title: "proxy-overhead: proxy workerd memory while 1 GiB streams through",
        columns: ["transfer", "MiB/s", "RSS before", "peak RSS sampled (50 ms)", "VmHWM after"],
        rows: [
          ["push 1 GiB", fixed(bigPush.mibPerSecond), mib(rssBefore), mib(pushMemory.maxSampledRssBytes), mib(pushMemory.peakRssBytes)],
          ["pull 1 GiB", fixed(bigPull.mibPerSecond), mib(pushMemory.rssBytes), mib(pullMemory.maxSampledRssBytes), mib(pullMemory.peakRssBytes)],
        ],
      },
    ];
    return {
      tables,
      data: { manifests, blobs, big: { size: BIG_BLOB, push: bigPush, pull: bigPull, rssBefore, pushMemory, pullMemory } },
      notes: [
        "Direct = the registry with no auth at all; proxy = the proxy Worker verifying an ES256 registry token (certificate from TOKEN_CERTS) on every request and streaming to the same registry.",
        "Blob figures are transfers on loopback with the client, workerd and the registry sharing 2 cores: read the ratios, not the absolute MiB/s.",
      ],
    };
  } finally {
    big.cleanup();
    await stack.stop();
  }
}

export const proxyOverhead: Benchmark = {
  name: "proxy-overhead",
  description: "manifest GET latency and 16/256 MiB blob pull/push through the proxy vs direct; workerd RSS while 1 GiB streams",
  run,
};
