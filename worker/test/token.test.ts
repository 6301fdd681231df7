/**
 * The token endpoint end to end inside workerd: real local D1 and KV, the
 * loopback OIDC issuer, and the Worker's own fetch handler.
 */
import { env, SELF } from "cloudflare:test";
import { createLocalJWKSet, decodeProtectedHeader, type JWK } from "jose";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { misconfiguredResponse, REFRESH_TOKEN_TYP, verifyRegistryToken } from "@jwt-registry-auth/protocol";
import worker from "../src/index.ts";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { loadSettings } from "../src/settings.ts";
import { signJwt } from "../src/signing/sign.ts";
import { AUTHENTICATION_FAILED } from "../src/token/handler.ts";
import { refreshAudience } from "../src/token/refresh-token.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";
const TOKEN_ISSUER = "test-token-issuer";

let issuer: string;
let logs: string[];

const github = (owner = "acme", extra: Record<string, unknown> = {}) => ({
  sub: `repo:${owner}/app:ref:refs/heads/main`,
  aud: `https://${SERVICE}`,
  repository: `${owner}/app`,
  repository_owner: owner,
  repository_owner_id: "1234",
  ref: "refs/heads/main",
  ...extra,
});

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

async function tokenGet(query: string, auth?: string): Promise<Response> {
  return SELF.fetch(`http://token.test/token?${query}`, auth === undefined ? {} : { headers: { Authorization: auth } });
}

async function registryKeys() {
  const jwks = (await (await SELF.fetch("http://token.test/.well-known/jwks.json")).json()) as { keys: JWK[] };
  return createLocalJWKSet(jwks);
}

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  await putProviders([
    discoveryProvider("gha", issuer, {
      authn: 'claims.repository_owner_id == "1234"',
      authz: 'scope.type == "repository" && scope.name.startsWith(claims.repository_owner + "/") && (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))',
    }),
    // `*` is granted only by a condition that names it (policy/wildcard-action.ts); plain `true` would not.
    discoveryProvider("catalog", issuer, { authz: '(scope.type == "registry" && scope.action == "*") || scope.type == "repository"' }),
  ]);
  ({ logs } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("password grant", () => {
  it("issues a registry token Distribution accepts, granting only what the policy allows", async () => {
    const jwt = await mint(issuer, github());
    const res = await tokenGet(`account=gha&service=${SERVICE}&scope=repository:acme/app:pull,push&scope=repository:other/app:pull`, basic("gha", jwt));
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body["token"]).toBe(body["access_token"]);
    expect(body["expires_in"]).toBe(300);
    expect(body["issued_at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(body).not.toHaveProperty("refresh_token");

    const token = body["token"] as string;
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(typeof header.kid).toBe("string");
    expect(header.x5c).toHaveLength(1);
    expect(header.x5c?.[0]).toMatch(/^[A-Za-z0-9+/]+=*$/); // std base64, not base64url

    const verified = await verifyRegistryToken(token, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(typeof verified.value.aud).toBe("string");
    expect(Number.isInteger(verified.value.exp)).toBe(true);
    expect(verified.value.sub).toBe("gha:repo:acme/app:ref:refs/heads/main");
    expect(verified.value.access).toEqual([{ type: "repository", name: "acme/app", actions: ["pull", "push"] }]);

    const line = JSON.parse(logs.find((l) => l.includes("token_request")) ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ status: 200, provider: "gha", subject: "repo:acme/app:ref:refs/heads/main", granted: ["repository:acme/app:pull", "repository:acme/app:push"], refused: ["repository:other/app:pull"] });
    expect(line["tokenSha256"]).toMatch(/^[0-9a-f]{64}$/);
    // Each refused scope with the term that refused it and its place in the condition.
    expect(line["reason"]).toBe('repository:other/app:pull: authz: false at 1:31: scope.name.startsWith(claims.repository_owner + "/")');
    expect(line["requestId"]).toBe(res.headers.get("X-Request-Id"));
    expect(logs.join("\n")).not.toContain(jwt);
  });

  it("logs each refused scope's explanation: the branch that refused push from a feature branch", async () => {
    const jwt = await mint(issuer, github("acme", { ref: "refs/heads/feature" }));
    const res = await tokenGet(`service=${SERVICE}&scope=repository:acme/app:pull,push,delete`, basic("gha", jwt));
    expect(res.status).toBe(200);
    const line = JSON.parse(logs.find((l) => l.includes("token_request")) ?? "{}") as Record<string, unknown>;
    expect(line["refused"]).toEqual(["repository:acme/app:push", "repository:acme/app:delete"]);
    expect(line["reason"]).toBe(
      [
        'repository:acme/app:push: authz: false at 1:88: scope.action == "pull"; false at 1:141: claims.ref == "refs/heads/main"',
        'repository:acme/app:delete: authz: false at 1:88: scope.action == "pull"; false at 1:115: scope.action == "push"',
      ].join(" | "),
    );
  });

  it("treats a request without scope as a login", async () => {
    const res = await tokenGet(`service=${SERVICE}`, basic("gha", await mint(issuer, github())));
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const verified = await verifyRegistryToken(token, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(verified.ok && verified.value.access).toEqual([]);
  });

  it("answers the same for /auth/token (the PoC's path) and for a form POST", async () => {
    const jwt = await mint(issuer, github());
    expect((await SELF.fetch(`http://token.test/auth/token?service=${SERVICE}`, { headers: { Authorization: basic("gha", jwt) } })).status).toBe(200);
    const post = await SELF.fetch("http://token.test/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", username: "gha", password: jwt, service: SERVICE, scope: "repository:acme/app:pull" }).toString(),
    });
    expect(post.status).toBe(200);
  });

  it("grants registry:catalog:* only where a policy allows it", async () => {
    const jwt = await mint(issuer, github());
    const refused = (await (await tokenGet(`service=${SERVICE}&scope=registry:catalog:*`, basic("gha", jwt))).json()) as { token: string };
    const granted = (await (await tokenGet(`service=${SERVICE}&scope=registry:catalog:*`, basic("catalog", jwt))).json()) as { token: string };
    const keys = await registryKeys();
    const a = await verifyRegistryToken(refused.token, keys, { issuer: TOKEN_ISSUER, audience: SERVICE });
    const b = await verifyRegistryToken(granted.token, keys, { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(a.ok && a.value.access).toEqual([]);
    expect(b.ok && b.value.access).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
  });

  it("keeps a scope's class in its own field", async () => {
    const res = await tokenGet(`service=${SERVICE}&scope=repository(plugin):acme/plug:pull`, basic("catalog", await mint(issuer, github())));
    const { token } = (await res.json()) as { token: string };
    const verified = await verifyRegistryToken(token, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(verified.ok && verified.value.access).toEqual([{ type: "repository", class: "plugin", name: "acme/plug", actions: ["pull"] }]);
  });
});

describe("refusals", () => {
  const expectUnauthorized = async (res: Response, reason: string) => {
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Basic realm=/);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as { errors: { code: string; detail: { reason: string; requestId?: string } }[] };
    expect(body.errors[0]?.code).toBe("UNAUTHORIZED");
    expect(body.errors[0]?.detail.reason).toBe(reason);
    // Every refusal's body names the request id that the header and the log line carry.
    expect(body.errors[0]?.detail.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.errors[0]?.detail.requestId).toBe(res.headers.get("X-Request-Id"));
  };

  /** The reason the log line gives for the last token request. */
  const loggedReason = () => (JSON.parse(logs.filter((l) => l.includes('"token_request"')).at(-1) ?? "{}") as { reason?: string }).reason;
  const lastLine = () => JSON.parse(logs.filter((l) => l.includes('"token_request"')).at(-1) ?? "{}") as Record<string, unknown>;

  /** An authn refusal: 403 DENIED, a stable code and the request id on the wire, no policy text; the explanation in the log. */
  const expectAuthnRefused = async (res: Response) => {
    expect(res.status).toBe(403);
    expect(res.headers.get("WWW-Authenticate")).toBeNull();
    const requestId = res.headers.get("X-Request-Id");
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ errors: [{ code: "DENIED", message: expect.any(String) as string, detail: { reason: "authn_condition_false", requestId } }] });
    expect(text).not.toContain("repository_owner_id");
    expect(lastLine()).toMatchObject({ status: 403, requestId, provider: "gha" });
    return loggedReason();
  };

  it("refuses an authn condition that says no with 403 DENIED, and logs the term that was false", async () => {
    const jwt = await mint(issuer, github("acme", { repository_owner_id: "999" }));
    expect(await expectAuthnRefused(await tokenGet(`service=${SERVICE}`, basic("gha", jwt)))).toBe('authn: false at 1:1: claims.repository_owner_id == "1234"');
    expect(logs.join("\n")).not.toContain(jwt.split(".")[1]);
  });

  it("refuses, never allows, when the authn condition errors on a missing claim, and logs the claim", async () => {
    const claims: Record<string, unknown> = github();
    delete claims["repository_owner_id"];
    const jwt = await mint(issuer, claims);
    expect(await expectAuthnRefused(await tokenGet(`service=${SERVICE}`, basic("gha", jwt)))).toBe(
      'authn: error at 1:1: claims.repository_owner_id == "1234": field not found: repository_owner_id (claims.repository_owner_id is missing)',
    );
  });

  it("refuses with 403 when the authn condition meets a claim of the wrong type", async () => {
    const jwt = await mint(issuer, github("acme", { repository_owner_id: 1234 }));
    // CEL's == is false across types (double vs string), not an error: a false term, with the claim's type.
    expect(await expectAuthnRefused(await tokenGet(`service=${SERVICE}`, basic("gha", jwt)))).toBe(
      'authn: false at 1:1: claims.repository_owner_id == "1234" (claims.repository_owner_id is double, not string)',
    );
  });

  it("answers an unknown provider and a refused workload token alike, so provider names can't be enumerated; the log tells them apart", async () => {
    const wire = async (user: string, password: string) => {
      const res = await tokenGet(`service=${SERVICE}`, basic(user, password));
      await expectUnauthorized(res.clone(), AUTHENTICATION_FAILED.reason);
      // x-request-id (also in the body's detail) is random per request and says nothing about the provider.
      const requestId = res.headers.get("x-request-id") ?? "";
      return { body: (await res.text()).replace(requestId, "<id>"), headers: [...res.headers].filter(([k]) => k !== "date" && k !== "x-request-id"), logged: loggedReason() };
    };
    const unknown = await wire("nope", "garbage");
    const known = await wire("gha", "garbage");
    const expired = await wire("gha", await mint(issuer, github(), { expiresIn: -3600 }));
    expect(known.body).toBe(unknown.body);
    expect(known.headers).toEqual(unknown.headers);
    expect(expired.body).toBe(unknown.body);
    expect(JSON.parse(unknown.body)).toMatchObject({ errors: [{ message: AUTHENTICATION_FAILED.message }] });
    expect([unknown.logged, known.logged, expired.logged]).toEqual(["unknown_provider", "identity:malformed: token is malformed", expect.stringMatching(/^identity:expired: /)]);
  });

  it("refuses an unknown provider, garbage Basic credentials and no credentials", async () => {
    const jwt = await mint(issuer, github());
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`, basic("nope", jwt)), AUTHENTICATION_FAILED.reason);
    expect(loggedReason()).toBe("unknown_provider");
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`, "Basic %%%garbage"), "bad_credentials");
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`, "Bearer x"), "bad_credentials");
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`), "no_credentials");
  });

  it("refuses a workload token for another audience or from another issuer", async () => {
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`, basic("gha", await mint(issuer, github("acme", { aud: "https://elsewhere" })))), AUTHENTICATION_FAILED.reason);
    expect(loggedReason()).toMatch(/^identity:wrong_audience: /);
    const stranger = freshIssuer(inject("githubIssuer"));
    await expectUnauthorized(await tokenGet(`service=${SERVICE}`, basic("gha", await mint(stranger, { ...github(), iss: issuer }))), AUTHENTICATION_FAILED.reason);
    expect(loggedReason()).toMatch(/^identity:unknown_key: /);
  });

  it("rejects malformed scopes with 400 and a precise message, before any verification", async () => {
    const res = await tokenGet(`service=${SERVICE}&scope=repository:../etc:pull`, basic("gha", "not-a-jwt"));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]?.message).toContain("invalid repository name");
  });

  it("never echoes the presented token in a body or a log line", async () => {
    const jwt = await mint(issuer, github("acme", { aud: "https://elsewhere" }));
    const res = await tokenGet(`service=${SERVICE}`, basic("gha", jwt));
    const text = await res.text();
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(jwt.split(".")[1]);
    expect(logs.join("\n")).not.toContain(jwt.split(".")[1]);
  });
});

describe("refresh tokens", () => {
  async function login(): Promise<string> {
    const res = await tokenGet(`account=gha&client_id=docker&offline_token=true&service=${SERVICE}`, basic("gha", await mint(issuer, github())));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { refresh_token?: string };
    expect(typeof body.refresh_token).toBe("string");
    return body.refresh_token as string;
  }
  const refresh = (refreshToken: string, scope: string, service = SERVICE) =>
    SELF.fetch("http://token.test/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: "registry-client", grant_type: "refresh_token", refresh_token: refreshToken, scope, service }).toString(),
    });

  it("logs in with offline_token and refreshes with today's policy", async () => {
    const rt = await login();
    expect(decodeProtectedHeader(rt).typ).toBe(REFRESH_TOKEN_TYP);
    const res = await refresh(rt, "repository:acme/app:pull repository:evil/app:push");
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const verified = await verifyRegistryToken(token, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(verified.ok && verified.value.access).toEqual([{ type: "repository", name: "acme/app", actions: ["pull"] }]);

    // The policy changes: the same refresh token now gets what the new policy allows.
    resetPolicyCache();
    await putProviders([discoveryProvider("gha", issuer, { authz: 'scope.name == "evil/app"' })]);
    const after = (await (await refresh(rt, "repository:acme/app:pull repository:evil/app:push")).json()) as { token: string };
    const again = await verifyRegistryToken(after.token, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(again.ok && again.value.access).toEqual([{ type: "repository", name: "evil/app", actions: ["push"] }]);
  });

  it("fails once the provider is gone, or for another service", async () => {
    const rt = await login();
    expect((await refresh(rt, "repository:acme/app:pull", "other.service")).status).toBe(401);
    resetPolicyCache();
    await putProviders([]);
    const res = await refresh(rt, "repository:acme/app:pull");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason).toBe("provider_gone");
  });

  it("never passes for a registry token, nor a registry token for it", async () => {
    const rt = await login();
    const asRegistryToken = await verifyRegistryToken(rt, await registryKeys(), { issuer: TOKEN_ISSUER, audience: SERVICE });
    expect(asRegistryToken).toMatchObject({ ok: false });
    const { token } = (await (await tokenGet(`service=${SERVICE}`, basic("gha", await mint(issuer, github())))).json()) as { token: string };
    const res = await refresh(token, "repository:acme/app:pull");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason).toBe("wrong_type");
  });

  describe("what revokes one (docs/policy.md)", () => {
    const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
    const reasonOf = async (res: Response) => {
      expect(res.status).toBe(401);
      return ((await res.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason;
    };
    const reapply = async (...providers: Parameters<typeof putProviders>[0]) => {
      resetPolicyCache();
      await putProviders(providers);
    };
    const gha = (extra: Parameters<typeof discoveryProvider>[2] = {}) => discoveryProvider("gha", issuer, { authz: "true", ...extra });

    it("keeps working across an apply that only edits the policy", async () => {
      const rt = await login();
      await reapply(gha({ authz: 'scope.action == "pull"', refreshSeconds: 7200 }));
      expect((await refresh(rt, "repository:acme/app:pull")).status).toBe(200);
    });

    it("(a) the provider re-pointed at another issuer", async () => {
      const rt = await login();
      await reapply(discoveryProvider("gha", freshIssuer(inject("githubIssuer")), { authz: "true" }));
      expect(await reasonOf(await refresh(rt, "repository:acme/app:pull"))).toBe("provider_changed");
      // Pointing it back does not revive it: the provider's id changed with the issuer.
      await reapply(gha());
      expect(await reasonOf(await refresh(rt, "repository:acme/app:pull"))).toBe("provider_changed");
    });

    it("(b) refresh turned off for the provider, and it stays revoked when turned back on", async () => {
      const rt = await login();
      await reapply(gha({ refreshSeconds: 0 }));
      expect(await reasonOf(await refresh(rt, "repository:acme/app:pull"))).toBe("provider_changed");
      await reapply(gha());
      expect(await reasonOf(await refresh(rt, "repository:acme/app:pull"))).toBe("provider_changed");
    });

    it("(c) REFRESH_TOKEN_MAX_SECONDS set to 0, or lowered below the token's age", async () => {
      const rt = await login();
      const use = (patch: Readonly<Record<string, string>>) =>
        worker.fetch(
          new Request("http://token.test/token", {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: rt, service: SERVICE }).toString(),
          }),
          { ...env, ...patch },
          ctx,
        );
      expect(await reasonOf(await use({ REFRESH_TOKEN_MAX_SECONDS: "0" }))).toBe("refresh_disabled");
      expect((await use({ REFRESH_TOKEN_MAX_SECONDS: "120" })).status).toBe(200);
      const issued = Date.now();
      vi.spyOn(Date, "now").mockReturnValue(issued + 300_000);
      expect(await reasonOf(await use({ REFRESH_TOKEN_MAX_SECONDS: "120" }))).toBe("refresh_lifetime_exceeded");
      // The provider's own lifetime, lowered after issue, shortens it the same way.
      await reapply(gha({ refreshSeconds: 120 }));
      expect(await reasonOf(await use({}))).toBe("refresh_lifetime_exceeded");
      await reapply(gha({ refreshSeconds: 3600 }));
      expect((await use({})).status).toBe(200);
    });

    it("(d) the provider deleted and another renamed into its place", async () => {
      const rt = await login();
      const permissive = discoveryProvider("other", issuer, { authz: "true" });
      await reapply(permissive);
      await reapply({ ...permissive, name: "gha" });
      expect(await reasonOf(await refresh(rt, "repository:acme/app:pull"))).toBe("provider_changed");
      // In one apply, from another issuer: the issuer no longer matches.
      const rt2 = await login();
      await reapply({ ...discoveryProvider("gha", freshIssuer(inject("githubIssuer"))), authz: "true" });
      expect(await reasonOf(await refresh(rt2, "repository:acme/app:pull"))).toBe("provider_changed");
    });

    it("refuses a refresh token without the provider binding (one issued before it existed)", async () => {
      const settings = await loadSettings(env);
      const now = Math.floor(Date.now() / 1000);
      const old = await signJwt(
        settings.signing.current,
        { iss: TOKEN_ISSUER, aud: refreshAudience(TOKEN_ISSUER), sub: "gha:x", iat: now, nbf: now, exp: now + 600, prv: "gha", wsub: "x", svc: SERVICE, clm: github() },
        { typ: REFRESH_TOKEN_TYP, x5c: false },
      );
      expect(await reasonOf(await refresh(old, "repository:acme/app:pull"))).toBe("bad_claims");
    });
  });


  it("is not issued when the provider disables refresh, and the login still works", async () => {
    resetPolicyCache();
    await putProviders([discoveryProvider("gha", issuer, { refreshSeconds: 0 })]);
    const res = await tokenGet(`offline_token=true&service=${SERVICE}`, basic("gha", await mint(issuer, github())));
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("refresh_token");
  });
});

describe("settings and key endpoints", () => {
  const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;

  it.each([
    ["SIGNING_KEY", { SIGNING_KEY: undefined }],
    ["TOKEN_ISSUER", { TOKEN_ISSUER: "" }],
    ["TOKEN_TTL_SECONDS", { TOKEN_TTL_SECONDS: "5 minutes" }],
    ["ALLOW_HTTP_LOOPBACK_ISSUERS", { ALLOW_HTTP_LOOPBACK_ISSUERS: "yes" }],
  ])("fails every request with a 500 naming %s when it is missing or invalid", async (setting, patch) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const path of ["/token?service=x", "/healthz", "/.well-known/jwks.json"]) {
      const res = await worker.fetch(new Request(`http://token.test${path}`), { ...env, ...patch }, ctx);
      expect(res.status).toBe(500);
      const text = await res.text();
      const body = JSON.parse(text) as { errors: { message: string; detail: { setting: string } }[] };
      // A token request's body also names its request id (the X-Request-Id header and the log line's).
      const requestId = path.startsWith("/token") ? (res.headers.get("X-Request-Id") ?? "missing") : undefined;
      expect(body.errors[0]?.detail).toEqual({ reason: "misconfigured", setting, ...(requestId !== undefined && { requestId }) });
      expect(body.errors[0]?.message).toContain(setting);
      // The shared builder's body exactly: the same shape as the proxy's misconfigured 500, and no word of what is wrong.
      expect(body).toEqual(await misconfiguredResponse("token server", setting, { ...(requestId !== undefined && { requestId }) }).json());
      for (const value of Object.values(patch)) if (value !== undefined && value !== "") expect(text).not.toContain(value);
    }
    // The operator's log line has what the wire leaves out: the SettingError's own words.
    const logged = [...logs, ...errors.mock.calls.map((call) => String(call[0]))].map((line) => JSON.parse(line) as { reason?: string });
    expect(logged).toHaveLength(3);
    for (const line of logged) expect(line.reason).toMatch(new RegExp(`${setting} (is not set|must be)`));
  });

  it("answers an unexpected failure with the shared internal 500 and one log line", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    // A wrangler.toml var can be a number: nothing in the token server expects one.
    for (const path of ["/token?service=x", "/healthz"]) {
      const res = await worker.fetch(new Request(`http://token.test${path}`), { ...env, TOKEN_ISSUER: 5000 } as unknown as typeof env, ctx);
      expect(res.status).toBe(500);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await res.json()).toEqual({ errors: [{ code: "UNKNOWN", message: "internal error in the token server", detail: { reason: "internal" } }] });
    }
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])) as unknown)).toEqual([
      { event: "unhandled_error", error: "TypeError" },
      { event: "unhandled_error", error: "TypeError" },
    ]);
  });

  it("fails closed with a 503 when the policy database can't be read and nothing is cached", async () => {
    resetPolicyCache();
    const unreachable = { prepare: () => { throw new Error("D1_ERROR: network connection lost"); } } as unknown as D1Database;
    const jwt = await mint(issuer, github());
    const res = await worker.fetch(new Request(`http://token.test/token?service=${SERVICE}`, { headers: { Authorization: basic("gha", jwt) } }), { ...env, POLICY_DB: unreachable }, ctx);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe("UNAVAILABLE");
  });

  it("only issues for ALLOWED_SERVICES when set", async () => {
    const jwt = await mint(issuer, github());
    const res = await worker.fetch(new Request(`http://token.test/token?service=${SERVICE}`, { headers: { Authorization: basic("gha", jwt) } }), { ...env, ALLOWED_SERVICES: "other.registry" }, ctx);
    expect(res.status).toBe(400);
    const ok = await worker.fetch(new Request(`http://token.test/token?service=${SERVICE}`, { headers: { Authorization: basic("gha", jwt) } }), { ...env, ALLOWED_SERVICES: `other.registry, ${SERVICE}` }, ctx);
    expect(ok.status).toBe(200);
  });

  it("publishes the signing certificates and JWKS", async () => {
    const pem = await (await SELF.fetch("http://token.test/certs.pem")).text();
    expect(pem).toContain("-----BEGIN CERTIFICATE-----");
    const jwks = (await (await SELF.fetch("http://token.test/.well-known/jwks.json")).json()) as { keys: JWK[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty("d");
    expect((await SELF.fetch("http://token.test/healthz")).status).toBe(200);
  });
});
