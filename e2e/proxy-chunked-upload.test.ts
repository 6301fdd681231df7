/**
 * Cloudflare refuses request bodies over 100 MB on Free and Pro zones before
 * the Worker sees them (docs/proxy.md, "Large layers"). skopeo and docker send
 * a layer as one PATCH, so a larger layer can't be pushed through a proxy on
 * such a zone. The OCI chunked upload (PATCH with Content-Range, then PUT)
 * keeps every request under the limit: this proves that path end to end — a
 * 300 MiB blob in 64 MiB chunks through the proxy under `wrangler dev` into
 * the real Distribution registry, each chunk a request of its own, the blob
 * stored whole with the digest the client computed.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fetchWithRegistryAuth, startRegistry, type Registry } from "@jwt-registry-auth/testkit";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";
import { startUpstreamClients, type UpstreamClients } from "./upstream-clients.ts";

const SERVICE = "e2e-proxy-chunked";
const MIB = 1024 * 1024;
/** Cloudflare's Free/Pro request body limit: 100 MB. */
const CLOUDFLARE_BODY_LIMIT = 100_000_000;
const BLOB_BYTES = 300 * MIB;
const CHUNK_BYTES = 64 * MIB;

const cleanups: (() => void | Promise<void>)[] = [];
let clients: UpstreamClients;
let registry: Registry;
let proxy: Proxy;

beforeAll(async () => {
  // acme's GitHub jobs may push and pull acme/* (the upstream-mode tests' client side).
  clients = await startUpstreamClients(SERVICE);
  cleanups.push(() => clients.stop());
  registry = await startRegistry({ auth: { kind: "none" } });
  cleanups.push(() => registry.stop());
  proxy = await startProxy({ upstream: registry, tokenServer: clients.tokenServer, service: SERVICE });
  cleanups.push(() => proxy.stop());
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it("a 300 MiB blob uploads through the proxy in 64 MiB chunks, no request over Cloudflare's 100 MB body limit", async () => {
  const password = await clients.jwt();
  const started = await fetchWithRegistryAuth(`${proxy.url}/v2/acme/big/blobs/uploads/`, { username: "github", password }, { method: "POST" });
  expect(started.response.status).toBe(202);
  const token = started.token?.body["token"];
  expect(typeof token).toBe("string");
  const auth = { Authorization: `Bearer ${String(token)}` };
  let location = new URL(started.response.headers.get("Location") ?? "", proxy.url);

  const digest = createHash("sha256");
  const bodySizes: number[] = [];
  const begun = performance.now();
  for (let offset = 0; offset < BLOB_BYTES; offset += CHUNK_BYTES) {
    const chunk = randomBytes(Math.min(CHUNK_BYTES, BLOB_BYTES - offset));
    digest.update(chunk);
    const end = offset + chunk.length - 1;
    const patch = await fetch(location, {
      method: "PATCH",
      headers: { ...auth, "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${end}`, "Content-Length": String(chunk.length) },
      body: chunk,
    });
    expect(patch.status, await patch.clone().text()).toBe(202);
    // Distribution's Range is inclusive and counts from 0: everything so far arrived.
    expect(patch.headers.get("Range")).toBe(`0-${end}`);
    bodySizes.push(chunk.length);
    location = new URL(patch.headers.get("Location") ?? "", proxy.url);
  }
  const blobDigest = `sha256:${digest.digest("hex")}`;
  location.searchParams.set("digest", blobDigest);
  const put = await fetch(location, { method: "PUT", headers: { ...auth, "Content-Length": "0" } });
  expect(put.status, await put.clone().text()).toBe(201);
  const seconds = (performance.now() - begun) / 1000;

  const head = await fetch(`${proxy.url}/v2/acme/big/blobs/${blobDigest}`, { method: "HEAD", headers: auth });
  expect(head.status).toBe(200);
  expect(head.headers.get("Content-Length")).toBe(String(BLOB_BYTES));
  expect(head.headers.get("Docker-Content-Digest")).toBe(blobDigest);

  expect(bodySizes).toHaveLength(Math.ceil(BLOB_BYTES / CHUNK_BYTES));
  expect(Math.max(...bodySizes)).toBeLessThan(CLOUDFLARE_BODY_LIMIT);
  const log = await logWhen(proxy, (lines) => lines.some((l) => l.method === "PUT" && l.endpoint === "upload" && l.repository === "acme/big"));
  expect(log.filter((l) => l.method === "PATCH" && l.endpoint === "upload" && l.repository === "acme/big" && l.status === 202)).toHaveLength(bodySizes.length);
  console.log(`300 MiB blob in ${bodySizes.length} chunks (largest ${(Math.max(...bodySizes) / MIB).toFixed(0)} MiB) through the proxy: ${seconds.toFixed(1)} s, ${(BLOB_BYTES / MIB / seconds).toFixed(1)} MiB/s`);
}, 600_000);
