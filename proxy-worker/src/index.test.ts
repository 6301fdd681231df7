import { misconfiguredResponse, parseBearerChallenge } from "@jwt-registry-auth/protocol";
import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { FAKE_BLOB_DIGEST, FAKE_BLOB_SIZE, UPSTREAM_PASS, UPSTREAM_USER } from "../test/fake-upstream.ts";
import { callProxy, get, PROXY, proxyEnv, REALM, recorded, uniqueRepo, upstreamUrl } from "../test/proxy.ts";
import { pull, pullPush, registryToken, SERVICE, strangerKeyPem } from "../test/tokens.ts";

const DIGEST = `sha256:${"c".repeat(64)}`;

/** The one error of a body, its `detail` without the request id — after checking that id is the response's X-Request-Id. */
async function errorOf(response: Response): Promise<{ code: string; message: string; detail?: unknown }> {
  const body = (await response.json()) as { errors: { code: string; message: string; detail?: Record<string, unknown> }[] };
  expect(body.errors).toHaveLength(1);
  const error = body.errors[0] as { code: string; message: string; detail?: Record<string, unknown> };
  const { requestId, ...detail } = error.detail ?? {};
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(requestId).toBe(response.headers.get("X-Request-Id"));
  return { ...error, detail };
}

function challengeOf(response: Response) {
  return parseBearerChallenge(response.headers.get("WWW-Authenticate") ?? "");
}

describe("challenges", () => {
  it("no token on /v2/: 401 with realm and service, no scope, no error", async () => {
    const response = await callProxy(get("/v2/"));
    expect(response.status).toBe(401);
    expect(challengeOf(response)).toEqual({ realm: REALM, service: SERVICE });
    expect(response.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect((await errorOf(response)).code).toBe("UNAUTHORIZED");
  });

  it("no token on a repository endpoint: the challenge names the scope it needs", async () => {
    const response = await callProxy(get("/v2/acme/app/blobs/uploads/", undefined, { method: "POST" }));
    expect(response.status).toBe(401);
    expect(challengeOf(response)).toEqual({ realm: REALM, service: SERVICE, scope: "repository:acme/app:pull,push" });
  });

  it("a Basic credential is no token", async () => {
    const response = await callProxy(get("/v2/acme/app/manifests/v1", undefined, { headers: { Authorization: `Basic ${btoa("u:p")}` } }));
    expect(response.status).toBe(401);
    expect(challengeOf(response)?.error).toBeUndefined();
  });

  it("a cross-repo mount asks for pull on the source too", async () => {
    const response = await callProxy(get(`/v2/acme/other/blobs/uploads/?from=acme%2Fapp&mount=${DIGEST}`, await registryToken({ access: [pullPush("acme/other")] }), { method: "POST" }));
    expect(response.status).toBe(401);
    expect(challengeOf(response)).toEqual({ realm: REALM, service: SERVICE, scope: "repository:acme/other:pull,push repository:acme/app:pull", error: "insufficient_scope" });
  });

  it("_catalog needs registry:catalog:*", async () => {
    const response = await callProxy(get("/v2/_catalog", await registryToken({ access: [pull("acme/app")] })));
    expect(response.status).toBe(401);
    expect(challengeOf(response)?.scope).toBe("registry:catalog:*");
    expect(challengeOf(response)?.error).toBe("insufficient_scope");
  });

  it("a pull token used to push is refused with insufficient_scope", async () => {
    const repo = uniqueRepo("pull-push");
    const token = await registryToken({ access: [pull(repo)] });
    const response = await callProxy(get(`/v2/${repo}/manifests/v1`, token, { method: "PUT", body: "{}", headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } }));
    expect(response.status).toBe(401);
    expect(challengeOf(response)).toEqual({ realm: REALM, service: SERVICE, scope: `repository:${repo}:pull,push`, error: "insufficient_scope" });
    expect(await errorOf(response)).toMatchObject({ code: "UNAUTHORIZED", detail: { reason: "insufficient_scope", access: [{ type: "repository", name: repo, actions: ["pull", "push"] }] } });
    expect(await recorded(`/v2/${repo}/`)).toEqual([]);
  });

  it("a token for another repository is refused", async () => {
    const response = await callProxy(get("/v2/acme/app/manifests/v1", await registryToken({ access: [pull("acme/app2")] })));
    expect(challengeOf(response)?.error).toBe("insufficient_scope");
  });

  it("delete needs the delete action, which push does not imply", async () => {
    const response = await callProxy(get(`/v2/acme/app/manifests/${DIGEST}`, await registryToken({ access: [pullPush("acme/app")] }), { method: "DELETE" }));
    expect(challengeOf(response)).toMatchObject({ scope: "repository:acme/app:delete", error: "insufficient_scope" });
  });

  it.each([
    ["expired", { expiresIn: -120 }, "expired"],
    ["not yet valid", { notBefore: Math.floor(Date.now() / 1000) + 600 }, "not_yet_valid"],
    ["for another service", { aud: "other-registry" }, "wrong_audience"],
    ["from another issuer", { iss: "someone-else" }, "wrong_issuer"],
    ["with a refresh-token typ", { header: { typ: "jwt-registry-auth.refresh+jwt" } }, "wrong_type"],
  ] as const)("a token %s is refused with invalid_token", async (_, options, reason) => {
    const response = await callProxy(get("/v2/acme/app/manifests/v1", await registryToken({ access: [pull("acme/app")], ...options })));
    expect(response.status).toBe(401);
    expect(challengeOf(response)).toEqual({ realm: REALM, service: SERVICE, scope: "repository:acme/app:pull", error: "invalid_token" });
    const error = await errorOf(response);
    expect(error.code).toBe("UNAUTHORIZED");
    // The code only: the verifier's words go to the log line.
    expect(error.detail).toEqual({ reason });
  });

  it("an expired token within Distribution's 60 s leeway still passes", async () => {
    const response = await callProxy(get("/v2/", await registryToken({ expiresIn: -30 })));
    expect(response.status).toBe(200);
  });

  it("a token signed by an unknown key is refused, and so is garbage", async () => {
    const forged = await registryToken({ access: [pull("acme/app")], keyPem: await strangerKeyPem() });
    for (const token of [forged, "not.a.jwt", `${forged.slice(0, -4)}AAAA`]) {
      const response = await callProxy(get("/v2/acme/app/manifests/v1", token));
      expect(response.status).toBe(401);
      expect(challengeOf(response)?.error).toBe("invalid_token");
    }
  });

  it("a forged token with the trusted kid but alg none or HS256 is refused", async () => {
    const genuine = await registryToken({ access: [pull("acme/app")] });
    const [header, payload] = genuine.split(".") as [string, string];
    const kid = (JSON.parse(atob(header.replace(/-/g, "+").replace(/_/g, "/"))) as { kid: string }).kid;
    const b64 = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    for (const alg of ["none", "HS256"]) {
      const response = await callProxy(get("/v2/acme/app/manifests/v1", `${b64({ alg, typ: "JWT", kid })}.${payload}.`));
      expect(response.status).toBe(401);
      expect(challengeOf(response)?.error).toBe("invalid_token");
    }
  });

  it("no response body or log-visible field echoes the token", async () => {
    const token = await registryToken({ access: [pull("acme/app")], aud: "other" });
    const response = await callProxy(get("/v2/acme/app/manifests/v1", token));
    expect(await response.text()).not.toContain(token.split(".")[2]);
  });
});

describe("refusals before forwarding", () => {
  it.each([
    ["/v2/acme/..%2Fsecret/manifests/v1", 400, "NAME_INVALID"],
    ["/v2/acme%2Fapp/manifests/v1", 400, "NAME_INVALID"],
    ["/v2/acme%252Fapp/manifests/v1", 400, "NAME_INVALID"],
    ["/v2/ACME/app/manifests/v1", 400, "NAME_INVALID"],
    [`/v2/${"a".repeat(300)}/manifests/v1`, 400, "NAME_INVALID"],
    ["/v2/acme/app/manifests/v1%2F..", 400, "TAG_INVALID"],
    ["/v2/acme/app/nothing", 404, "UNSUPPORTED"],
    ["/metrics", 404, "UNSUPPORTED"],
  ])("%s → %i %s, even with a token granting everything", async (path, status, code) => {
    const token = await registryToken({ access: [{ type: "repository", name: "acme/app", actions: ["*"] }] });
    const response = await callProxy(get(path, token));
    expect(response.status).toBe(status);
    expect((await errorOf(response)).code).toBe(code);
  });

  it("an invalid name is refused before the token is even looked at", async () => {
    const response = await callProxy(get("/v2/acme/%2e%2e/manifests/v1"));
    expect(response.status).toBe(400);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });
});

describe("forwarding", () => {
  it("the client's Authorization never reaches the upstream, and only registry headers do", async () => {
    const repo = uniqueRepo("no-auth-leak");
    const token = await registryToken({ access: [pull(repo)] });
    const response = await callProxy(
      get(`/v2/${repo}/manifests/v1`, token, {
        headers: { Accept: "application/vnd.oci.image.manifest.v1+json", Cookie: "session=1", "X-Secret": "s", "Proxy-Authorization": "Basic eA==", "X-Forwarded-Host": "evil.example", Forwarded: "host=evil.example" },
      }),
      proxyEnv({ PUBLIC_URL: PROXY }),
    );
    expect(response.status).toBe(200);
    const [seen] = await recorded(`/v2/${repo}/`);
    expect(seen?.headers["authorization"]).toBeUndefined();
    expect(seen?.headers["cookie"]).toBeUndefined();
    expect(seen?.headers["x-secret"]).toBeUndefined();
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen?.headers["forwarded"]).toBeUndefined();
    expect(seen?.headers["accept"]).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(seen?.headers["x-forwarded-host"]).toBe("proxy.test");
    expect(seen?.headers["x-forwarded-proto"]).toBe("https");
    expect(JSON.stringify(seen)).not.toContain(token);
  });

  it("a proxied answer carries X-Request-Id, the same id as its log line, and a fresh one per request", async () => {
    const repo = uniqueRepo("request-id");
    const token = await registryToken({ access: [pull(repo)] });
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      const first = await callProxy(get(`/v2/${repo}/manifests/v1`, token));
      const second = await callProxy(get(`/v2/${repo}/manifests/v1`, token));
      expect(first.status).toBe(200);
      const ids = [first.headers.get("X-Request-Id"), second.headers.get("X-Request-Id")];
      expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(ids[1]).not.toBe(ids[0]);
      const logged = spy.mock.calls.map((call) => JSON.parse(String(call[0])) as { event?: string; requestId?: string }).filter((l) => l.event === "proxy_request");
      expect(logged.map((l) => l.requestId)).toEqual(ids);
    } finally {
      spy.mockRestore();
    }
  });

  it("with Basic upstream credentials, the upstream sees those and never the client's token", async () => {
    const repo = uniqueRepo("basic");
    const token = await registryToken({ access: [pull(repo)] });
    const response = await callProxy(get(`/v2/${repo}/manifests/v1`, token), proxyEnv({ UPSTREAM_URL: upstreamUrl("basic"), UPSTREAM_USERNAME: UPSTREAM_USER, UPSTREAM_PASSWORD: UPSTREAM_PASS }));
    expect(response.status).toBe(200);
    const seen = await recorded(`/v2/${repo}/`, "basic");
    expect(seen.map((r) => r.headers["authorization"])).toEqual([`Basic ${btoa(`${UPSTREAM_USER}:${UPSTREAM_PASS}`)}`]);
  });

  it("forwards the registry headers and the query, and streams a large upload body", async () => {
    const repo = uniqueRepo("upload");
    const token = await registryToken({ access: [pullPush(repo)] });
    const size = 24 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(0x62);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const expected = await crypto.subtle.digest("SHA-256", new Uint8Array(size).fill(0x62));
    const hex = [...new Uint8Array(expected)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const response = await callProxy(
      get(`/v2/${repo}/blobs/uploads/abc-123?_state=xyz%3D%3D`, token, {
        method: "PATCH",
        body,
        headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${size - 1}` },
      }),
    );
    expect(response.status).toBe(202);
    const [seen] = await recorded(`/v2/${repo}/`);
    expect(seen).toMatchObject({ method: "PATCH", query: "?_state=xyz%3D%3D", bodyLength: size, bodySha256: `sha256:${hex}` });
    expect(seen?.headers["content-type"]).toBe("application/octet-stream");
    expect(seen?.headers["content-range"]).toBe(`0-${size - 1}`);
  });

  it("passes Content-Length, Docker-Content-Digest and Range through", async () => {
    const repo = uniqueRepo("range");
    const token = await registryToken({ access: [pullPush(repo)] });
    const manifest = JSON.stringify({ schemaVersion: 2 });
    await callProxy(get(`/v2/${repo}/manifests/v1`, token, { method: "PUT", body: manifest, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Content-Length": String(manifest.length) } }));
    await callProxy(get(`/v2/${repo}/blobs/${FAKE_BLOB_DIGEST}`, token, { method: "HEAD", headers: { Range: "bytes=0-9", "Docker-Content-Digest": FAKE_BLOB_DIGEST } }));
    const [put, head] = await recorded(`/v2/${repo}/`);
    expect(put?.headers["content-length"]).toBe(String(manifest.length));
    expect(put?.headers["content-type"]).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(put?.bodyLength).toBe(manifest.length);
    expect(head?.headers["range"]).toBe("bytes=0-9");
    expect(head?.headers["docker-content-digest"]).toBe(FAKE_BLOB_DIGEST);
  });

  it("streams a large blob download back with its length and digest", async () => {
    const repo = uniqueRepo("download");
    const token = await registryToken({ access: [pull(repo)] });
    const response = await callProxy(get(`/v2/${repo}/blobs/${FAKE_BLOB_DIGEST}`, token));
    expect(response.status).toBe(200);
    expect(response.headers.get("Docker-Content-Digest")).toBe(FAKE_BLOB_DIGEST);
    expect(response.headers.get("Content-Length")).toBe(String(FAKE_BLOB_SIZE));
    const hash = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
    expect(`sha256:${[...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")}`).toBe(FAKE_BLOB_DIGEST);
  });

  it("rewrites upload Locations that point at the upstream back to the proxy's PUBLIC_URL, keeping _state", async () => {
    const repo = uniqueRepo("location");
    const token = await registryToken({ access: [pullPush(repo)] });
    const testEnv = proxyEnv({ PUBLIC_URL: PROXY });
    const started = await callProxy(get(`/v2/${repo}/blobs/uploads/`, token, { method: "POST" }), testEnv);
    expect(started.status).toBe(202);
    const location = started.headers.get("Location") ?? "";
    expect(location).toMatch(new RegExp(`^${PROXY}/v2/${repo}/blobs/uploads/[0-9a-f-]+\\?_state=s0-`));
    const patched = await callProxy(get(location.slice(PROXY.length), token, { method: "PATCH", body: "hello" }), testEnv);
    expect(patched.headers.get("Location")).toMatch(new RegExp(`^${PROXY}/v2/${repo}/blobs/uploads/[0-9a-f-]+\\?_state=s1-`));
    const done = await callProxy(get(`${(patched.headers.get("Location") ?? "").slice(PROXY.length)}&digest=${DIGEST}`, token, { method: "PUT" }), testEnv);
    expect(done.status).toBe(201);
    expect(done.headers.get("Location")).toBe(`/v2/${repo}/blobs/${DIGEST}`);
    expect((await recorded(`/v2/${repo}/`)).map((r) => r.method)).toEqual(["POST", "PATCH", "PUT"]);
  });

  it("rewrites tag-list Link headers to the proxy's PUBLIC_URL", async () => {
    const repo = uniqueRepo("link");
    const response = await callProxy(get(`/v2/${repo}/tags/list?n=1`, await registryToken({ access: [pull(repo)] })), proxyEnv({ PUBLIC_URL: PROXY }));
    expect(response.headers.get("Link")).toBe(`<${PROXY}/v2/${repo}/tags/list?n=1&last=a>; rel="next"`);
  });

  it("passes object-store redirects to the client instead of following them", async () => {
    const repo = uniqueRepo("redirect");
    const response = await callProxy(get(`/v2/${repo}/blobs/${FAKE_BLOB_DIGEST}`, await registryToken({ access: [pull(repo)] })));
    expect(response.status).toBe(307);
    expect(response.headers.get("Location")).toBe(`https://object-store.invalid/bucket/${FAKE_BLOB_DIGEST}?X-Amz-Signature=abc`);
  });

  it("a cross-repo mount with pull on the source is forwarded with from and mount", async () => {
    const repo = uniqueRepo("mount");
    const token = await registryToken({ access: [pullPush(repo), pull("acme/app")] });
    const response = await callProxy(get(`/v2/${repo}/blobs/uploads/?from=acme%2Fapp&mount=${DIGEST}`, token, { method: "POST" }));
    expect(response.status).toBe(202);
    const [seen] = await recorded(`/v2/${repo}/`);
    expect(new URLSearchParams(seen?.query).get("from")).toBe("acme/app");
    expect(new URLSearchParams(seen?.query).get("mount")).toBe(DIGEST);
  });

  it("a catalog token reaches _catalog", async () => {
    const response = await callProxy(get("/v2/_catalog?n=5", await registryToken({ access: [{ type: "registry", name: "catalog", actions: ["*"] }] })));
    expect(response.status).toBe(200);
  });
});

describe("upstream failures", () => {
  it("an upstream 500 becomes a 502 with a Distribution error body", async () => {
    const response = await callProxy(get("/v2/fail-500/app/manifests/v1", await registryToken({ access: [pull("fail-500/app")] })));
    expect(response.status).toBe(502);
    expect(await errorOf(response)).toMatchObject({ code: "UNKNOWN", detail: { reason: "upstream_failed", upstreamStatus: 500 } });
  });

  it("an upstream 503 stays a 503", async () => {
    const response = await callProxy(get("/v2/fail-503/app/manifests/v1", await registryToken({ access: [pull("fail-503/app")] })));
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe("UNAVAILABLE");
  });

  it("an unreachable upstream is a 502", async () => {
    const response = await callProxy(get("/v2/acme/app/manifests/v1", await registryToken({ access: [pull("acme/app")] })), proxyEnv({ UPSTREAM_URL: "http://127.0.0.1:1" }));
    expect(response.status).toBe(502);
    expect(await errorOf(response)).toMatchObject({ code: "UNKNOWN", message: "the upstream registry could not be reached" });
  });

  it("wrong upstream Basic credentials are a 502, never a 401 the client would blame on its token", async () => {
    const response = await callProxy(
      get("/v2/acme/app/manifests/v1", await registryToken({ access: [pull("acme/app")] })),
      proxyEnv({ UPSTREAM_URL: upstreamUrl("basic"), UPSTREAM_USERNAME: UPSTREAM_USER, UPSTREAM_PASSWORD: "wrong" }),
    );
    expect(response.status).toBe(502);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });
});

describe("settings", () => {
  it("a missing setting is a 500 naming it, for every request", async () => {
    const response = await callProxy(get("/v2/"), proxyEnv({ TOKEN_REALM: "" }));
    expect(response.status).toBe(500);
    // The shared builder's body exactly: the same shape as the token server's misconfigured 500.
    expect(await errorOf(response)).toEqual((await misconfiguredResponse("registry proxy", "TOKEN_REALM").json<{ errors: unknown[] }>()).errors[0]);
    expect(response.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("the deployed config (wrangler.toml) refuses to run until the upstream is set", async () => {
    for (const path of ["/v2/", "/healthz"]) {
      const response = await SELF.fetch(`${PROXY}${path}`);
      expect(response.status).toBe(500);
      expect((await errorOf(response)).detail).toEqual({ reason: "misconfigured", setting: "UPSTREAM_URL" });
    }
  });

  it("/healthz answers 200 once the settings are valid, without a token", async () => {
    const response = await callProxy(get("/healthz"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe("verification key sources", () => {
  it("through the TOKEN_SERVER service binding, fetched once for many requests", async () => {
    const testEnv = proxyEnv({ TOKEN_JWKS: undefined, TOKEN_SERVER: env.TOKEN_SERVER });
    const token = await registryToken();
    for (let i = 0; i < 5; i++) expect((await callProxy(get("/v2/", token), testEnv)).status).toBe(200);
    const { count } = await (await env.TOKEN_SERVER.fetch("https://token-server/_test/count")).json<{ count: number }>();
    expect(count).toBe(1);
  });

  it("from TOKEN_JWKS_URL, fetched once for many requests", async () => {
    const id = crypto.randomUUID();
    await fetch(`${upstreamUrl()}/_test/jwks/${id}`, { method: "PUT", body: env.TEST_JWKS });
    const testEnv = proxyEnv({ TOKEN_JWKS: undefined, TOKEN_JWKS_URL: `${upstreamUrl()}/_test/jwks/${id}` });
    const token = await registryToken();
    for (let i = 0; i < 5; i++) expect((await callProxy(get("/v2/", token), testEnv)).status).toBe(200);
    expect(await (await fetch(`${upstreamUrl()}/_test/jwks-count/${id}`)).json()).toEqual({ count: 1 });
  });

  it("from TOKEN_CERTS (PEM certificate)", async () => {
    const testEnv = proxyEnv({ TOKEN_JWKS: undefined, TOKEN_CERTS: env.TEST_CERT });
    expect((await callProxy(get("/v2/", await registryToken()), testEnv)).status).toBe(200);
    expect((await callProxy(get("/v2/", await registryToken({ keyPem: await strangerKeyPem() })), testEnv)).status).toBe(401);
  });

  it("an unreachable JWKS URL is a 503, not a 401 blaming the token", async () => {
    const response = await callProxy(get("/v2/", await registryToken()), proxyEnv({ TOKEN_JWKS: undefined, TOKEN_JWKS_URL: `${upstreamUrl()}/_test/jwks/${crypto.randomUUID()}` }));
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe("UNAVAILABLE");
  });
});
