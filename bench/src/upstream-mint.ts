/**
 * upstream-mint: what a minted upstream credential costs (issue 13). For each
 * UPSTREAM_AUTH mode — `none` (baseline), `ecr` keyed (SigV4 only) and `ecr`
 * keyless (federation JWT → STS → SigV4 ECR) — the proxy bundle is served in a
 * fresh workerd (a cold isolate) in front of Distribution (htpasswd holding the
 * AWS stand-in's password for ecr), and the first manifest GET is timed, then a
 * warm one: the difference is the mint against the stand-ins (testkit/src/cloud/aws.ts,
 * on loopback, so the figure is the proxy's own work plus loopback round trips,
 * not AWS's latency). Also prints the bundle's gzip size (the issue's bar: < 40 KiB).
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { startAwsStandIn } from "@jwt-registry-auth/testkit/cloud/aws";
import { buildOciImage, OCI_MANIFEST } from "@jwt-registry-auth/testkit/image";
import { startRegistry, type Registry } from "@jwt-registry-auth/testkit/registry";
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import type { Benchmark, BenchmarkOutput } from "./lib/benchmark.ts";
import { pushBlob } from "./lib/blob-transfer.ts";
import { bundleWorker } from "./lib/bundle.ts";
import { PROXY_CONFIG } from "./lib/proxy-stack.ts";
import { serveWorker } from "./lib/serve.ts";
import { fixed, kib, type Table } from "./lib/table.ts";
import { SERVICE, startTokenStack, TOKEN_ISSUER } from "./lib/token-stack.ts";

const REPOSITORY = "example-org/bench";
const PASSWORD = "bench-ecr-password";
const ROLE_ARN = "arn:aws:iam::123456789012:role/bench-proxy";
const SUBJECT = "bench-proxy";
const SAMPLES = 5;
const GZIP_LIMIT = 40 * 1024;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function pushImage(registry: Registry, auth: Record<string, string>): Promise<void> {
  const image = await buildOciImage({ layers: [{ size: 4096, compression: "none" as const }], tag: "v1" });
  try {
    for (const blob of [image.config, ...image.layers]) await pushBlob(registry.url, REPOSITORY, blob.digest, image.blobPath(blob.digest), auth);
    const put = await fetch(`${registry.url}/v2/${REPOSITORY}/manifests/v1`, { method: "PUT", headers: { "Content-Type": OCI_MANIFEST, ...auth }, body: image.manifestJson });
    await put.body?.cancel();
    if (put.status !== 201) throw new Error(`pushing the bench manifest: ${put.status}`);
  } finally {
    image.cleanup();
  }
}

/** A loopback origin that forwards GETs to the proxy once it is known: PUBLIC_URL must be fixed before workerd picks its port. */
async function issuerFront(): Promise<{ url: string; target: { url: string }; close(): Promise<void> }> {
  const target = { url: "" };
  const server = createServer((request, response) => {
    fetch(`${target.url}${request.url ?? "/"}`)
      .then(async (answer) => {
        response.writeHead(answer.status, { "Content-Type": answer.headers.get("Content-Type") ?? "application/json" });
        response.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => {
        response.writeHead(502);
        response.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, target, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface ModeFigures {
  readonly mode: string;
  readonly coldFirstMs: number;
  readonly warmMs: number;
  readonly stsCalls: number;
  readonly ecrCalls: number;
}

async function run(): Promise<BenchmarkOutput> {
  const dir = makeTempDir("bench-upstream-mint");
  const cleanups: (() => Promise<void> | void)[] = [() => removeDir(dir)];
  try {
    const bundle = await bundleWorker(PROXY_CONFIG, join(dir, "proxy"));
    const tokens = await startTokenStack();
    cleanups.push(() => tokens.stop());
    const response = await fetch(`${tokens.tokenServer.url}/token?service=${encodeURIComponent(SERVICE)}&scope=${encodeURIComponent(`repository:${REPOSITORY}:pull`)}`, { headers: { Authorization: tokens.basic("RS256") } });
    if (response.status !== 200) throw new Error(`registry token: ${response.status}`);
    const bearer = { Authorization: `Bearer ${((await response.json()) as { token: string }).token}` };

    const open = await startRegistry({ auth: { kind: "none" } });
    cleanups.push(() => open.stop());
    await pushImage(open, {});
    const basic = { Authorization: `Basic ${Buffer.from(`AWS:${PASSWORD}`).toString("base64")}` };
    const ecrRegistry = await startRegistry({ auth: { kind: "htpasswd", users: { AWS: PASSWORD } } });
    cleanups.push(() => ecrRegistry.stop());
    await pushImage(ecrRegistry, basic);

    const front = await issuerFront();
    cleanups.push(() => front.close());
    const aws = await startAwsStandIn({
      oidcProviders: [front.url],
      roles: { [ROLE_ARN]: { issuer: front.url, subject: SUBJECT } },
      accessKeys: { AKIDBENCH: "bench-secret" },
      registryPassword: PASSWORD,
    });
    cleanups.push(() => aws.close());
    const federationKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

    const common = { TOKEN_REALM: `${tokens.tokenServer.url}/token`, TOKEN_SERVICE: SERVICE, TOKEN_ISSUER, TOKEN_CERTS: tokens.certPem };
    const ecr = { UPSTREAM_URL: ecrRegistry.url, UPSTREAM_AUTH: "ecr", AWS_REGION: "us-east-1", AWS_STS_ENDPOINT: aws.url, ECR_API_ENDPOINT: aws.url };
    const modes: { mode: string; bindings: Record<string, string>; upstream: Registry }[] = [
      { mode: "none", bindings: { ...common, UPSTREAM_URL: open.url, UPSTREAM_AUTH: "none" }, upstream: open },
      { mode: "ecr (keyed)", bindings: { ...common, ...ecr, AWS_ACCESS_KEY_ID: "AKIDBENCH", AWS_SECRET_ACCESS_KEY: "bench-secret" }, upstream: ecrRegistry },
      { mode: "ecr (keyless)", bindings: { ...common, ...ecr, AWS_ROLE_ARN: ROLE_ARN, PUBLIC_URL: front.url, FEDERATION_SIGNING_KEY: federationKey, FEDERATION_SUBJECT: SUBJECT }, upstream: ecrRegistry },
    ];

    const figures: ModeFigures[] = [];
    for (const { mode, bindings } of modes) {
      const cold: number[] = [];
      const warm: number[] = [];
      const sts = aws.calls.sts.length;
      const ecrCalls = aws.calls.ecr.length;
      for (let i = 0; i < SAMPLES; i++) {
        const proxy = await serveWorker({ scriptPath: bundle.scriptPath, compatibilityDate: bundle.compatibilityDate, bindings });
        front.target.url = proxy.url;
        try {
          const get = async (): Promise<number> => {
            const started = performance.now();
            const answer = await fetch(`${proxy.url}/v2/${REPOSITORY}/manifests/v1`, { headers: { ...bearer, Accept: OCI_MANIFEST } });
            await answer.body?.cancel();
            if (answer.status !== 200) throw new Error(`${mode}: manifest through the proxy: ${answer.status}\n${proxy.recentLogs().join("\n")}`);
            return performance.now() - started;
          };
          cold.push(await get());
          warm.push(await get());
        } finally {
          await proxy.stop();
        }
      }
      figures.push({ mode, coldFirstMs: median(cold), warmMs: median(warm), stsCalls: aws.calls.sts.length - sts, ecrCalls: aws.calls.ecr.length - ecrCalls });
    }

    const baseline = figures[0] as ModeFigures;
    const table: Table = {
      title: `Cold isolate → first proxied manifest, per UPSTREAM_AUTH mode (median of ${SAMPLES} fresh workerd processes; stand-ins on loopback)`,
      columns: ["mode", "first manifest (cold)", "second (warm)", "first − warm", "first − none's first", "STS / ECR calls"],
      rows: figures.map((f) => [f.mode, `${fixed(f.coldFirstMs, 1)} ms`, `${fixed(f.warmMs, 1)} ms`, `${fixed(f.coldFirstMs - f.warmMs, 1)} ms`, `${fixed(f.coldFirstMs - baseline.coldFirstMs, 1)} ms`, `${f.stsCalls} / ${f.ecrCalls}`]),
    };
    const size: Table = {
      title: "Proxy bundle (wrangler deploy --dry-run)",
      columns: ["raw", "gzip", "limit (gzip)"],
      rows: [[kib(bundle.rawBytes), kib(bundle.gzipBytes), `${kib(GZIP_LIMIT)} (${bundle.gzipBytes < GZIP_LIMIT ? "under" : "OVER"})`]],
    };
    return {
      tables: [table, size],
      data: { figures, bundle: { rawBytes: bundle.rawBytes, gzipBytes: bundle.gzipBytes, wranglerSummary: bundle.wranglerSummary } },
      notes: [
        "The cost of a mint is 'first − none's first': both first requests also verify the registry token and import its keys; the ecr rows add the mint (keyed: one SigV4-signed ECR call; keyless: the federation JWT, STS and ECR, STS fetching the proxy's discovery and JWKS through a loopback front).",
        "Each process mints once (STS/ECR calls = samples): the warm request reuses the cached credential.",
      ],
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

export const upstreamMint: Benchmark = {
  name: "upstream-mint",
  description: "UPSTREAM_AUTH modes: cold isolate to first proxied manifest, the cost of a mint against the AWS stand-in, and the proxy bundle's gzip size",
  run,
};
