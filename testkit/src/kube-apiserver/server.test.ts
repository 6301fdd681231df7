import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { rbacAuthorizer } from "./rbac.ts";
import { startKubeApiServer, type KubeApiServer } from "./server.ts";

let api: KubeApiServer;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token ?? api.adminToken}`, "Content-Type": "application/json", ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Opens a watch and collects its events until `until` says stop (or the stream ends). */
async function watchEvents(path: string, until: (events: { type: string; object: Record<string, unknown> }[]) => boolean): Promise<{ type: string; object: Record<string, unknown> }[]> {
  const controller = new AbortController();
  const res = await fetch(`${api.url}${path}`, { headers: { Authorization: `Bearer ${api.adminToken}` }, signal: controller.signal });
  expect(res.status).toBe(200);
  const events: { type: string; object: Record<string, unknown> }[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)) as { type: string; object: Record<string, unknown> });
        buffer = buffer.slice(nl + 1);
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

const meta = (o: Record<string, unknown>): Record<string, unknown> => o["metadata"] as Record<string, unknown>;

beforeAll(async () => {
  api = await startKubeApiServer({ bookmarkIntervalMs: 50 });
  await call("POST", "/api/v1/namespaces", { metadata: { name: "team-a", labels: { team: "a" } } });
});
afterAll(() => api.close());

describe("authentication and discovery", () => {
  it("serves OIDC discovery and the JWKS without credentials", async () => {
    const discovery = (await (await fetch(`${api.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: api.issuer, jwks_uri: `${api.url}/openid/v1/jwks`, id_token_signing_alg_values_supported: ["RS256"] });
    const jwks = (await (await fetch(`${api.url}/openid/v1/jwks`)).json()) as { keys: unknown[] };
    expect(jwks.keys).toHaveLength(1);
  });

  it("answers an API request without a known bearer token with a 401 Status", async () => {
    const res = await call("GET", "/api/v1/namespaces", undefined, {}, "nope");
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Unauthorized", code: 401 });
  });

  it("enforces RBAC from manifests with the apiserver's 403 wording", async () => {
    const rbac = rbacAuthorizer(
      [
        { kind: "Role", metadata: { name: "r", namespace: "team-a" }, rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list"] }] },
        { kind: "RoleBinding", metadata: { name: "b", namespace: "team-a" }, roleRef: { kind: "Role", name: "r" }, subjects: [{ kind: "ServiceAccount", name: "bot", namespace: "ops" }] },
      ],
      { namespace: "ops", name: "bot" },
    );
    api.addUser("bot-token", rbac.user, rbac.authorize);
    expect((await call("GET", "/api/v1/namespaces/team-a/serviceaccounts", undefined, {}, "bot-token")).status).toBe(200);
    const denied = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts/default/token", {}, {}, "bot-token");
    expect(denied.status).toBe(403);
    expect(denied.body["message"]).toBe('serviceaccounts "default" is forbidden: User "system:serviceaccount:ops:bot" cannot create resource "serviceaccounts/token" in API group "" in the namespace "team-a"');
    expect((await call("GET", "/api/v1/namespaces/default/serviceaccounts", undefined, {}, "bot-token")).status).toBe(403);
  });
});

describe("objects", () => {
  it("gives each new namespace a default ServiceAccount, as the ServiceAccounts controller does", async () => {
    const res = await call("GET", "/api/v1/namespaces/team-a/serviceaccounts/default");
    expect(res.status).toBe(200);
    expect(meta(res.body)).toMatchObject({ name: "default", namespace: "team-a" });
  });

  it("answers 404, 409 AlreadyExists, 409 Conflict and 422 with Status bodies", async () => {
    const missing = await call("GET", "/api/v1/namespaces/team-a/secrets/none");
    expect(missing).toMatchObject({ status: 404, body: { reason: "NotFound", message: 'secrets "none" not found', code: 404 } });
    const created = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "app" } });
    expect(created.status).toBe(201);
    expect((await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "app" } })).body).toMatchObject({ reason: "AlreadyExists", code: 409 });
    const rv = meta(created.body)["resourceVersion"];
    const updated = await call("PUT", "/api/v1/namespaces/team-a/serviceaccounts/app", { ...created.body, imagePullSecrets: [{ name: "x" }] });
    expect(updated.status).toBe(200);
    expect(meta(updated.body)["resourceVersion"]).not.toBe(rv);
    const stale = await call("PUT", "/api/v1/namespaces/team-a/serviceaccounts/app", { ...created.body, imagePullSecrets: [] });
    expect(stale.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect(String(stale.body["message"])).toContain("the object has been modified");
    const bad = await call("POST", "/api/v1/namespaces/team-a/secrets", { metadata: { name: "x".repeat(254) }, type: "kubernetes.io/dockerconfigjson", data: {} });
    expect(bad.body).toMatchObject({ reason: "Invalid", code: 422 });
    expect((bad.body["details"] as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual(["metadata.name", "data[.dockerconfigjson]"]);
    expect((await call("POST", "/api/v1/namespaces/nowhere/secrets", { metadata: { name: "s" } })).body).toMatchObject({ message: 'namespaces "nowhere" not found', code: 404 });
  });

  it("applies merge and JSON patches with resourceVersion preconditions, refuses strategic merge", async () => {
    const sa = (await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "patched" }, imagePullSecrets: [{ name: "theirs" }] })).body;
    const rv = meta(sa)["resourceVersion"];
    const merged = await call("PATCH", "/api/v1/namespaces/team-a/serviceaccounts/patched", { metadata: { resourceVersion: rv }, imagePullSecrets: [{ name: "theirs" }, { name: "ours" }] }, { "Content-Type": "application/merge-patch+json" });
    expect(merged.status).toBe(200);
    expect(merged.body["imagePullSecrets"]).toEqual([{ name: "theirs" }, { name: "ours" }]);
    const stale = await call("PATCH", "/api/v1/namespaces/team-a/serviceaccounts/patched", { metadata: { resourceVersion: rv }, secrets: [] }, { "Content-Type": "application/merge-patch+json" });
    expect(stale.status).toBe(409);
    const failedTest = await call("PATCH", "/api/v1/namespaces/team-a/serviceaccounts/patched", [{ op: "test", path: "/imagePullSecrets/0/name", value: "other" }], { "Content-Type": "application/json-patch+json" });
    expect(failedTest.status).toBe(422);
    const strategic = await call("PATCH", "/api/v1/namespaces/team-a/serviceaccounts/patched", {}, { "Content-Type": "application/strategic-merge-patch+json" });
    expect(strategic.status).toBe(415);
  });

  it("deletes with preconditions and garbage-collects dependents", async () => {
    const sa = (await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "owner" } })).body;
    const owner = { apiVersion: "v1", kind: "ServiceAccount", name: "owner", uid: meta(sa)["uid"] };
    await call("POST", "/api/v1/namespaces/team-a/secrets", { metadata: { name: "owned", ownerReferences: [owner] }, stringData: { a: "b" } });
    const wrong = await call("DELETE", "/api/v1/namespaces/team-a/serviceaccounts/owner", { preconditions: { uid: "other" } });
    expect(wrong.status).toBe(409);
    const deleted = await call("DELETE", "/api/v1/namespaces/team-a/serviceaccounts/owner", { preconditions: { uid: meta(sa)["uid"] } });
    expect(deleted.body).toMatchObject({ kind: "Status", status: "Success", details: { name: "owner", kind: "serviceaccounts" } });
    expect((await call("GET", "/api/v1/namespaces/team-a/secrets/owned")).status).toBe(404);
  });

  it("folds stringData into base64 data", async () => {
    const secret = await call("POST", "/api/v1/namespaces/team-a/secrets", { metadata: { name: "sd" }, stringData: { k: "v" } });
    expect(secret.body).toMatchObject({ type: "Opaque", data: { k: "dg==" } });
    expect(secret.body["stringData"]).toBeUndefined();
  });
});

describe("list and watch", () => {
  it("pages a list with limit/continue, items without kind", async () => {
    await call("POST", "/api/v1/namespaces", { metadata: { name: "paged" } });
    for (const name of ["a", "b", "c"]) await call("POST", "/api/v1/namespaces/paged/serviceaccounts", { metadata: { name } });
    const first = await call("GET", "/api/v1/namespaces/paged/serviceaccounts?limit=3");
    expect(first.body["kind"]).toBe("ServiceAccountList");
    const items = first.body["items"] as Record<string, unknown>[];
    expect(items.map((i) => meta(i)["name"])).toEqual(["a", "b", "c"]);
    expect(items[0]?.["kind"]).toBeUndefined();
    const cont = meta(first.body)["continue"] as string;
    const second = await call("GET", `/api/v1/namespaces/paged/serviceaccounts?limit=3&continue=${cont}`);
    expect((second.body["items"] as Record<string, unknown>[]).map((i) => meta(i)["name"])).toEqual(["default"]);
    expect(meta(second.body)["continue"]).toBeUndefined();
  });

  it("resumes a watch from a list's resourceVersion and sends bookmarks", async () => {
    const list = await call("GET", "/api/v1/namespaces/team-a/serviceaccounts");
    const rv = meta(list.body)["resourceVersion"] as string;
    await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "watched" } });
    await call("DELETE", "/api/v1/namespaces/team-a/serviceaccounts/watched");
    const events = await watchEvents(`/api/v1/namespaces/team-a/serviceaccounts?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, (e) => e.some((x) => x.type === "BOOKMARK"));
    expect(events.filter((e) => e.type !== "BOOKMARK").map((e) => [e.type, meta(e.object)["name"]])).toEqual([
      ["ADDED", "watched"],
      ["DELETED", "watched"],
    ]);
    const bookmark = events.find((e) => e.type === "BOOKMARK") as { object: Record<string, unknown> };
    expect(bookmark.object).toMatchObject({ kind: "ServiceAccount", apiVersion: "v1" });
    expect(Number(meta(bookmark.object)["resourceVersion"])).toBeGreaterThan(Number(rv));
  });

  it("reports a compacted resourceVersion as a 410 ERROR event", async () => {
    const rv = meta((await call("GET", "/api/v1/namespaces")).body)["resourceVersion"] as string;
    await call("POST", "/api/v1/namespaces", { metadata: { name: "later" } });
    api.compact();
    const events = await watchEvents(`/api/v1/namespaces?watch=1&resourceVersion=${rv}`, () => false);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
  });

  it("turns selector transitions into ADDED/DELETED for a filtered watch", async () => {
    const rv = meta((await call("GET", "/api/v1/namespaces")).body)["resourceVersion"] as string;
    await call("POST", "/api/v1/namespaces", { metadata: { name: "moving" } });
    await call("PATCH", "/api/v1/namespaces/moving", { metadata: { labels: { team: "a" } } }, { "Content-Type": "application/merge-patch+json" });
    await call("PATCH", "/api/v1/namespaces/moving", { metadata: { labels: { team: "b" } } }, { "Content-Type": "application/merge-patch+json" });
    const events = await watchEvents(`/api/v1/namespaces?watch=true&resourceVersion=${rv}&labelSelector=team%3Da`, (e) => e.length >= 2);
    expect(events.map((e) => [e.type, meta(e.object)["name"]])).toEqual([
      ["ADDED", "moving"],
      ["DELETED", "moving"],
    ]);
  });
});

describe("TokenRequest", () => {
  it("mints a service-account JWT the served JWKS verifies, with the real claims", async () => {
    const sa = (await call("POST", "/api/v1/namespaces/team-a/serviceaccounts", { metadata: { name: "puller" } })).body;
    const before = Math.floor(Date.now() / 1000);
    const res = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts/puller/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: ["https://registry.example"], expirationSeconds: 900 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: "TokenRequest", spec: { audiences: ["https://registry.example"], expirationSeconds: 900 } });
    const status = res.body["status"] as { token: string; expirationTimestamp: string };
    expect(status.expirationTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(decodeProtectedHeader(status.token).alg).toBe("RS256");
    const { payload } = await jwtVerify(status.token, createRemoteJWKSet(new URL(`${api.url}/openid/v1/jwks`)), { issuer: api.issuer, audience: "https://registry.example" });
    expect(payload).toMatchObject({
      sub: "system:serviceaccount:team-a:puller",
      aud: ["https://registry.example"],
      "kubernetes.io": { namespace: "team-a", serviceaccount: { name: "puller", uid: meta(sa)["uid"] } },
    });
    expect(payload.exp).toBe((payload.iat as number) + 900);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(typeof payload.jti).toBe("string");
    expect(new Date(status.expirationTimestamp).getTime() / 1000).toBe(payload.exp);
  });

  it("validates the request and needs the ServiceAccount", async () => {
    const short = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts/default/token", { spec: { expirationSeconds: 599 } });
    expect(short.body).toMatchObject({ code: 422, reason: "Invalid" });
    expect(String(short.body["message"])).toContain("may not specify a duration less than 10 minutes");
    const missing = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts/ghost/token", { spec: {} });
    expect(missing.body).toMatchObject({ code: 404, message: 'serviceaccounts "ghost" not found' });
    const defaulted = await call("POST", "/api/v1/namespaces/team-a/serviceaccounts/default/token", {});
    expect(defaulted.body["spec"]).toMatchObject({ audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600 });
  });
});

describe("fault injection", () => {
  it("fails the next matching request before it takes effect", async () => {
    api.failNext({ verb: "create", resource: "secrets" }, 503);
    const failed = await call("POST", "/api/v1/namespaces/team-a/secrets", { metadata: { name: "flaky" } });
    expect(failed.body).toMatchObject({ code: 503, reason: "ServiceUnavailable" });
    expect((await call("GET", "/api/v1/namespaces/team-a/secrets/flaky")).status).toBe(404);
    expect((await call("POST", "/api/v1/namespaces/team-a/secrets", { metadata: { name: "flaky" } })).status).toBe(201);
  });
});
