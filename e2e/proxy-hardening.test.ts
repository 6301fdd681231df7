/**
 * The proxy's answers to the attack run of issue 14, against the real
 * Distribution 2.8.2 behind the proxy under `wrangler dev`: a cross-repository
 * mount smuggled in a form body (Distribution reads `mount`/`from` with Go's
 * `FormValue`, body first), a client-chosen `Host` in rewritten `Location`s,
 * and an absolute-form request line. Real clients (skopeo) still mount.
 */
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOciImage,
  createDockerConfig,
  grantedAccess,
  requestToken,
  skopeoCopy,
  startOidcIssuer,
  startRegistry,
  startTokenServer,
  type OciImage,
  type OidcIssuer,
  type Registry,
  type TokenServer,
} from "@jwt-registry-auth/testkit";
import { logWhen, startProxy, type Proxy } from "./proxy-harness.ts";

const SERVICE = "e2e-proxy-hardening";
const OWNER_ID = "7654321";

/** acme's workflows may pull and push acme/*; nobody gets victim/*. */
function providersYaml(github: OidcIssuer): string {
  return `providers:
  - name: github
    issuer: ${JSON.stringify(github.url)}
    authn:
      condition: |
        claims.repository_owner_id == "${OWNER_ID}"
    authz:
      condition: |
        scope.type == "repository" && scope.name.startsWith("acme/") && (scope.action == "pull" || scope.action == "push")
`;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends `head` (request line and headers, CRLF-joined) and `body` byte for byte, as no HTTP library would. */
function rawRequest(host: string, head: readonly string[], body = ""): Promise<RawResponse> {
  const [hostname, port] = host.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [headText = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...headerLines] = headText.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
    socket.write(`${[...head, "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`].join("\r\n")}\r\n\r\n${body}`);
  });
}

function errorCodeOf(body: string): string | undefined {
  return (JSON.parse(body) as { errors?: { code: string }[] }).errors?.[0]?.code;
}

const cleanups: (() => void | Promise<void>)[] = [];
let github: OidcIssuer;
let tokenServer: TokenServer;
let registry: Registry;
let proxy: Proxy;
let victim: OciImage;
let image: OciImage;
let victimDigest: string;
/** Push on acme/app; the victim/secret scope was asked for and refused. */
let token: string;

const githubJwt = (): Promise<string> => github.github({ owner: "acme", ownerId: OWNER_ID, audience: SERVICE });

/** Whether the registry itself has `digest` linked in `repository` (asked directly, no proxy). */
async function registryHasBlob(repository: string, digest: string): Promise<boolean> {
  const response = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { method: "HEAD" });
  return response.status === 200;
}

function viaProxy(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return fetch(`${proxy.url}${path}`, { ...init, headers });
}

beforeAll(async () => {
  github = await startOidcIssuer({ alg: "RS256", path: "/github" });
  cleanups.push(() => github.close());
  [victim, image] = await Promise.all([buildOciImage({ layers: [2048] }), buildOciImage({ layers: [4096] })]);
  cleanups.push(() => victim.cleanup(), () => image.cleanup());
  victimDigest = victim.layers[0]?.digest ?? "";
  tokenServer = await startTokenServer({ providersYaml: providersYaml(github) });
  cleanups.push(() => tokenServer.stop());
  registry = await startRegistry({ auth: { kind: "none" } });
  cleanups.push(() => registry.stop());
  proxy = await startProxy({ upstream: registry, tokenServer, service: SERVICE, publicUrl: true });
  cleanups.push(() => proxy.stop());

  // The victim's image goes straight into the registry, never through the proxy.
  const seeded = await skopeoCopy(victim.reference, `docker://${registry.host}/victim/secret:v1`);
  expect(seeded.code, seeded.stderr).toBe(0);
  expect(await registryHasBlob("victim/secret", victimDigest)).toBe(true);

  const issued = await requestToken(tokenServer.realm, {
    service: SERVICE,
    scopes: ["repository:acme/app:pull,push", "repository:victim/secret:pull"],
    credential: { username: "github", password: await githubJwt() },
  });
  token = String(issued.body["token"]);
  expect(grantedAccess(token)).toEqual([{ type: "repository", name: "acme/app", actions: ["pull", "push"] }]);
  // The same token's direct pull of the victim's blob is refused: the attack needs the mount.
  expect((await viaProxy(`/v2/victim/secret/blobs/${victimDigest}`)).status).toBe(401);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("a cross-repository mount the proxy did not authorise", () => {
  const uploads = "/v2/acme/app/blobs/uploads/";
  const form = "application/x-www-form-urlencoded";

  it("the issue's request (mount and from in a form body) is refused, and acme/app gets no blob", async () => {
    const response = await viaProxy(uploads, { method: "POST", headers: { "Content-Type": form }, body: `mount=${encodeURIComponent(victimDigest)}&from=victim%2Fsecret` });
    expect(response.status).toBe(415);
    expect(errorCodeOf(await response.text())).toBe("UNSUPPORTED");
    expect(await registryHasBlob("acme/app", victimDigest)).toBe(false);
    expect((await viaProxy(`/v2/acme/app/blobs/${victimDigest}`)).status).toBe(404);
  });

  it("mount in the query and from in the body is refused", async () => {
    const response = await viaProxy(`${uploads}?mount=${encodeURIComponent(victimDigest)}`, { method: "POST", headers: { "Content-Type": form }, body: "from=victim%2Fsecret" });
    expect(response.status).toBe(415);
    expect(await registryHasBlob("acme/app", victimDigest)).toBe(false);
  });

  it("from in the query and mount in the body is refused, form type or not: from needs pull", async () => {
    const asForm = await viaProxy(`${uploads}?from=victim%2Fsecret`, { method: "POST", headers: { "Content-Type": form }, body: `mount=${encodeURIComponent(victimDigest)}` });
    expect(asForm.status).toBe(415);
    const asOctets = await viaProxy(`${uploads}?from=victim%2Fsecret`, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: `mount=${encodeURIComponent(victimDigest)}` });
    expect(asOctets.status).toBe(401);
    expect(asOctets.headers.get("WWW-Authenticate")).toContain('error="insufficient_scope"');
    expect(asOctets.headers.get("WWW-Authenticate")).toContain("repository:victim/secret:pull");
    expect(await registryHasBlob("acme/app", victimDigest)).toBe(false);
  });

  it("a multipart body is refused", async () => {
    const body = new FormData();
    body.append("mount", victimDigest);
    body.append("from", "victim/secret");
    const response = await viaProxy(uploads, { method: "POST", body });
    expect(response.status).toBe(415);
    expect(await registryHasBlob("acme/app", victimDigest)).toBe(false);
  });

  it("repeated parameters are refused, encoded key or not", async () => {
    const mount = encodeURIComponent(victimDigest);
    for (const search of [`?mount=${mount}&from=acme%2Fapp&from=victim%2Fsecret`, `?from=acme%2Fapp&fr%6Fm=victim%2Fsecret&mount=${mount}`, `?mount=${mount}&mount=${mount}&from=acme%2Fapp`]) {
      const response = await viaProxy(`${uploads}${search}`, { method: "POST" });
      expect([response.status, errorCodeOf(await response.text())], search).toEqual([400, "UNSUPPORTED"]);
    }
    expect(await registryHasBlob("acme/app", victimDigest)).toBe(false);
  });

  it("the refusals are in the proxy's log", async () => {
    const lines = await logWhen(proxy, (l) => l.filter((line) => line.status === 415).length >= 4);
    expect(lines.filter((line) => line.status === 415 && line.reason === "UNSUPPORTED").length).toBeGreaterThanOrEqual(4);
  });

  it("skopeo's own cross-repository mount, with pull on the source, still mounts and is logged with its source", async () => {
    const creds = createDockerConfig({ [proxy.host]: { username: "github", password: await githubJwt() } });
    cleanups.push(() => creds.cleanup());
    const push = await skopeoCopy(image.reference, `docker://${proxy.host}/acme/app:v1`, { authFile: creds.path });
    expect(push.code, push.stderr).toBe(0);
    const copy = await skopeoCopy(`docker://${proxy.host}/acme/app:v1`, `docker://${proxy.host}/acme/other:v1`, { authFile: creds.path });
    expect(copy.code, copy.stderr).toBe(0);
    const mounted = (line: { repository?: string; endpoint?: string; status: number; mountFrom?: string }): boolean =>
      line.repository === "acme/other" && line.endpoint === "upload-start" && line.status === 201 && line.mountFrom === "acme/app";
    expect((await logWhen(proxy, (lines) => lines.some(mounted))).some(mounted)).toBe(true);
    expect(await registryHasBlob("acme/other", image.layers[0]?.digest ?? "")).toBe(true);
  });
});

describe("rewritten URLs never come from the request's Host", () => {
  it("an upload started with Host: evil.example gets a Location on the proxy's PUBLIC_URL, and the upload completes there", async () => {
    const started = await rawRequest(proxy.host, ["POST /v2/acme/app/blobs/uploads/ HTTP/1.1", "Host: evil.example", `Authorization: Bearer ${token}`]);
    expect(started.status).toBe(202);
    const location = started.headers["location"] ?? "";
    expect(location).not.toContain("evil.example");
    expect(location.startsWith(`${proxy.url}/v2/acme/app/blobs/uploads/`)).toBe(true);
    const data = "hardening blob";
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    const patched = await viaProxy(location.slice(proxy.url.length), { method: "PATCH", headers: { "Content-Type": "application/octet-stream" }, body: data });
    expect(patched.status).toBe(202);
    const next = patched.headers.get("Location") ?? "";
    expect(next.startsWith(`${proxy.url}/v2/acme/app/blobs/uploads/`)).toBe(true);
    const done = await viaProxy(`${next.slice(proxy.url.length)}&digest=${encodeURIComponent(digest)}`, { method: "PUT" });
    expect(done.status).toBe(201);
    expect(await registryHasBlob("acme/app", digest)).toBe(true);
  });
});

describe("an absolute-form request line", () => {
  // workerd's HTTP listener (kj/compat/url.c++, host-style rewriting) throws on an
  // absolute-form target before any Worker runs: even a Worker that catches
  // everything answers 500 there (docs/proxy.md). What the proxy can promise is
  // that it fails closed: nothing reaches the registry, and no request is judged on
  // the target's host. The Worker's own paths (a relative-only view of the URL, a
  // Distribution 500 body for any exception) are tested in proxy-worker/src.
  it.each(["http://evil.example/v2/", `http://evil.example/v2/acme/app/blobs/uploads/`])("%s fails closed: no response from the registry, nothing forwarded", async (target) => {
    const registryLogBefore = registry.logs();
    const linesBefore = proxy.log().length;
    const response = await rawRequest(proxy.host, [`${target.endsWith("uploads/") ? "POST" : "GET"} ${target} HTTP/1.1`, "Host: evil.example", `Authorization: Bearer ${token}`]);
    expect(response.status).toBe(500);
    expect(response.headers["docker-distribution-api-version"]).toBeUndefined();
    expect(registry.logs()).toBe(registryLogBefore);
    expect(proxy.log().length).toBe(linesBefore);
  });
});
