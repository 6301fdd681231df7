/**
 * A recording upstream registry for the workerd tests, on loopback. It speaks
 * enough of the Distribution API to exercise the proxy's forwarding (uploads with
 * absolute `Location`s that ignore `X-Forwarded-*`, `Link` pagination, object-store
 * redirects (to `?location=` if given), 5xx, a 20 KiB header under `…/big-headers`) and records every request it gets, headers included, so tests
 * can see exactly what the proxy sent. Real-registry behaviour is covered by the
 * e2e tests against Distribution itself.
 *
 * Auth modes: "none"; "basic" (UPSTREAM_USER/UPSTREAM_PASS); "bearer" (its own
 * token endpoint at `/token`, Basic-authenticated, tokens bound to their scopes).
 *
 * Test control endpoints (never proxied: the proxy only forwards `/v2/…`):
 *   GET  /_test/requests?prefix=/v2/repo   recorded requests under that path
 *   GET  /_test/token-requests             recorded token requests (bearer mode)
 *   PUT  /_test/jwks/<id>                  store a JWKS document; GET serves it and counts
 *   GET  /_test/jwks-count/<id>            how often /_test/jwks/<id> was fetched
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type UpstreamMode = "none" | "basic" | "bearer";

export const UPSTREAM_USER = "upstream-user";
export const UPSTREAM_PASS = "upstream-pass";
/** Size of every blob the fake serves: big enough that buffering it would show. */
export const FAKE_BLOB_SIZE = 8 * 1024 * 1024;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Record<string, string>;
  readonly bodyLength: number;
  readonly bodySha256: string;
}

export interface FakeUpstream {
  readonly url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<{ length: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on("end", () => resolve({ length, sha256: `sha256:${hash.digest("hex")}` }));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", "Docker-Distribution-Api-Version": "registry/2.0", ...headers });
  res.end(JSON.stringify(body));
}

/** Deterministic blob bytes, written in 64 KiB chunks as the client reads them. */
function streamBlob(res: ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < FAKE_BLOB_SIZE) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const BLOB_DIGEST = `sha256:${createHash("sha256").update(Buffer.alloc(FAKE_BLOB_SIZE, 0x61)).digest("hex")}`;

export async function startFakeUpstream(mode: UpstreamMode): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const tokenRequests: { scope: string[]; authorization: string }[] = [];
  const tokens = new Map<string, string[]>();
  const jwks = new Map<string, { body: string; count: number }>();
  let origin = "";
  const basic = `Basic ${Buffer.from(`${UPSTREAM_USER}:${UPSTREAM_PASS}`).toString("base64")}`;

  const repositoryOf = (path: string): string | undefined => /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(path)?.[1];

  /** Whether the request carries the upstream credentials its mode wants; answers the 401 if not. */
  const authenticated = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    const auth = req.headers.authorization ?? "";
    if (mode === "none") return true;
    if (mode === "basic") {
      if (auth === basic) return true;
      json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { "WWW-Authenticate": 'Basic realm="fake-upstream"' });
      return false;
    }
    const repository = repositoryOf(path);
    const needed = repository === undefined ? undefined : `repository:${repository}:`;
    const granted = tokens.get(auth.replace(/^Bearer /, ""));
    if (granted && (needed === undefined || granted.some((s) => s.startsWith(needed)))) return true;
    const scope = repository === undefined ? "" : `,scope="repository:${repository}:pull"`;
    json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { "WWW-Authenticate": `Bearer realm="${origin}/token",service="fake-upstream"${scope}` });
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname;
    const method = req.method ?? "GET";

    if (path === "/_test/requests") return json(res, 200, requests.filter((r) => r.path.startsWith(url.searchParams.get("prefix") ?? "/")));
    if (path === "/_test/token-requests") return json(res, 200, tokenRequests);
    const jwksMatch = /^\/_test\/jwks(-count)?\/([\w-]+)$/.exec(path);
    if (jwksMatch) {
      const id = jwksMatch[2] as string;
      if (jwksMatch[1] !== undefined) return json(res, 200, { count: jwks.get(id)?.count ?? 0 });
      if (method === "PUT") {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        jwks.set(id, { body: Buffer.concat(chunks).toString("utf8"), count: jwks.get(id)?.count ?? 0 });
        return json(res, 204, {});
      }
      const entry = jwks.get(id);
      if (!entry) return json(res, 404, { error: "no such jwks" });
      entry.count++;
      res.writeHead(200, { "Content-Type": "application/json" });
      return void res.end(entry.body);
    }
    if (path === "/token") {
      const scope = url.searchParams.getAll("scope");
      tokenRequests.push({ scope, authorization: req.headers.authorization ?? "" });
      if (req.headers.authorization !== basic) return json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] });
      const token = `upstream-token-${randomUUID()}`;
      tokens.set(token, scope);
      return json(res, 200, { token, expires_in: 300, issued_at: new Date().toISOString() });
    }

    const body = await readBody(req);
    requests.push({ method, path, query: url.search, headers: { ...(req.headers as Record<string, string>) }, bodyLength: body.length, bodySha256: body.sha256 });
    if (!authenticated(req, res, path)) return;

    if (path.startsWith("/v2/fail-500/")) return json(res, 500, { errors: [{ code: "UNKNOWN", message: "boom" }] });
    if (path.startsWith("/v2/fail-503/")) return json(res, 503, { errors: [{ code: "UNAVAILABLE", message: "down" }] }, { "Retry-After": "5" });
    if (path === "/v2/") return json(res, 200, {});

    if (path.includes("/big-headers")) return json(res, 200, {}, { "X-Padding": "p".repeat(20 * 1024) });
    const uploadStart = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(path);
    if (uploadStart && method === "POST") {
      const id = randomUUID();
      // Absolute, and built from the upstream's own address (as a registry that ignores X-Forwarded-* does),
      // or, for repositories named "forwarded", from X-Forwarded-Proto/Host (as Distribution does).
      const self = uploadStart[1]?.includes("forwarded") ? `${String(req.headers["x-forwarded-proto"])}://${String(req.headers["x-forwarded-host"])}` : origin;
      return json(res, 202, {}, { Location: `${self}/v2/${uploadStart[1]}/blobs/uploads/${id}?_state=s0-${id}`, "Docker-Upload-UUID": id, Range: "0-0" });
    }
    const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(path);
    if (upload && method === "PATCH") {
      return json(res, 202, {}, { Location: `${origin}/v2/${upload[1]}/blobs/uploads/${upload[2]}?_state=s1-${upload[2]}`, Range: `0-${Math.max(body.length - 1, 0)}` });
    }
    if (upload && method === "PUT") {
      const digest = url.searchParams.get("digest") ?? "";
      return json(res, 201, {}, { Location: `/v2/${upload[1]}/blobs/${digest}`, "Docker-Content-Digest": digest, "X-Received-Sha256": body.sha256 });
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
    if (blob && (method === "GET" || method === "HEAD")) {
      if (blob[1]?.includes("redirect")) {
        res.writeHead(307, { Location: url.searchParams.get("location") ?? `https://object-store.invalid/bucket/${blob[2]}?X-Amz-Signature=abc` });
        return void res.end();
      }
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(FAKE_BLOB_SIZE), "Docker-Content-Digest": BLOB_DIGEST });
      if (method === "HEAD") return void res.end();
      return streamBlob(res);
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags) {
      return json(res, 200, { name: tags[1], tags: ["a"] }, { Link: `<${origin}/v2/${tags[1]}/tags/list?n=1&last=a>; rel="next"` });
    }
    return json(res, 200, { method, path, query: url.search });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => json(res, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { BLOB_DIGEST as FAKE_BLOB_DIGEST };
