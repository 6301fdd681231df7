/**
 * upload-shape: what a real client sends when it pushes a 300 MiB layer —
 * one PATCH with the whole layer, or chunks — measured on the wire. Cloudflare
 * refuses request bodies over 100 MB on Free and Pro zones before a Worker sees
 * them, so this decides whether a push through the proxy fits (docs/proxy.md,
 * "Large layers").
 *
 * skopeo pushes an OCI layout to the real Distribution registry through a
 * byte-counting HTTP relay (measurement only: it forwards every byte as is).
 * The docker CLI on this machine has no daemon, and pushing needs one, so
 * docker is not measured here.
 */
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { buildOciImage, skopeoCopy, startRegistry } from "@jwt-registry-auth/testkit";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { fixed, type Table } from "./lib/table.ts";

const MIB = 1024 * 1024;
const LAYER_BYTES = 300 * MIB;
const CLOUDFLARE_BODY_LIMIT = 100_000_000;

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly framing: string;
  readonly contentRange: string | undefined;
  bodyBytes: number;
}

function framingOf(req: IncomingMessage): string {
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined) return `Transfer-Encoding: ${req.headers["transfer-encoding"]}`;
  return length !== undefined ? `Content-Length: ${length}` : "no body";
}

/** A relay to `target` that records each request's method, path, framing and body bytes. The client's Host goes through, so the registry's upload Locations point back at the relay. */
async function countingRelay(target: URL): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const entry: Seen = { method: req.method ?? "", path: (req.url ?? "").split("?")[0] ?? "", framing: framingOf(req), contentRange: req.headers["content-range"], bodyBytes: 0 };
    seen.push(entry);
    req.on("data", (chunk: Buffer) => {
      entry.bodyBytes += chunk.length;
    });
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function run(): Promise<BenchmarkOutput> {
  const registry = await startRegistry({ auth: { kind: "none" } });
  const image = await buildOciImage({ layers: [LAYER_BYTES] });
  const relay = await countingRelay(new URL(registry.url));
  try {
    const push = await skopeoCopy(image.reference, `docker://${relay.url}/acme/big:v1`, { timeoutMs: 600_000 });
    if (push.code !== 0) throw new Error(`skopeo push failed: ${push.stderr}`);
    const withBody = relay.seen.filter((s) => s.bodyBytes > 0);
    const largest = Math.max(...withBody.map((s) => s.bodyBytes));
    const layerPatches = relay.seen.filter((s) => s.method === "PATCH" && s.bodyBytes >= MIB);
    const tables: Table[] = [
      {
        title: `upload-shape: skopeo pushing a ${LAYER_BYTES / MIB} MiB layer (${fixed(image.layers[0]?.size ?? 0)} bytes gzip), every request with a body`,
        columns: ["method", "path", "framing", "Content-Range", "body bytes", "over 100 MB"],
        rows: withBody.map((s) => [s.method, s.path.replace(/[0-9a-f-]{36}/, "<uuid>"), s.framing, s.contentRange ?? "–", String(s.bodyBytes), s.bodyBytes > CLOUDFLARE_BODY_LIMIT ? "yes" : "no"]),
      },
    ];
    return {
      tables,
      data: { layerBytes: image.layers[0]?.size, requests: relay.seen, largestBody: largest },
      notes: [
        `skopeo sent the layer as ${layerPatches.length} PATCH request(s); the largest body was ${fixed(largest / MIB, 1)} MiB, ${largest > CLOUDFLARE_BODY_LIMIT ? "over" : "under"} Cloudflare's 100 MB Free/Pro limit.`,
        "docker was not measured: its push runs in the daemon, and this machine's docker CLI has none.",
        "e2e/proxy-chunked-upload.test.ts proves the way around it: an OCI chunked upload (PATCH with Content-Range) in 64 MiB chunks through the proxy.",
      ],
    };
  } finally {
    await relay.close();
    image.cleanup();
    await registry.stop();
  }
}

export const uploadShape: Benchmark = {
  name: "upload-shape",
  description: "what skopeo sends on the wire for a 300 MiB layer (one PATCH or chunks), against Cloudflare's 100 MB request-body limit",
  run,
};
