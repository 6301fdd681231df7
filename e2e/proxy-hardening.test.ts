/**
 * The proxy's answers to the attack run of issue 14, against the real
 * Distribution 2.8.2 behind the proxy under `wrangler dev`: a cross-repository
 * mount smuggled in a form body (Distribution reads `mount`/`from` with Go's
 * `FormValue`, body first), a client-chosen `Host` in rewritten `Location`s,
 * and an absolute-form request line. Real clients (skopeo) still mount.
 */
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
