import { describe, expect, it } from "vitest";
import { UPSTREAM_PASS, UPSTREAM_USER } from "../test/fake-upstream.ts";
import { callProxy, get, proxyEnv, recorded, uniqueRepo, upstreamUrl } from "../test/proxy.ts";
import { pull, registryToken } from "../test/tokens.ts";
import { UpstreamAuth, UpstreamError } from "./upstream-auth.ts";

const CREDENTIALS = { username: UPSTREAM_USER, password: UPSTREAM_PASS };
const BASIC = `Basic ${btoa(`${UPSTREAM_USER}:${UPSTREAM_PASS}`)}`;

function auth(
  mode: "none" | "basic" | "bearer",
  options: { credentials?: typeof CREDENTIALS; clock?: { now: number }; allowInsecureRealm?: boolean; fetch?: typeof fetch } = {},
) {
  const clock = options.clock ?? { now: 1_000_000 };
  return new UpstreamAuth({
    upstream: new URL(upstreamUrl(mode)),
    ...(options.credentials && { credentials: options.credentials }),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now: () => clock.now,
    schemeMaxAgeMs: 600_000,
    timeoutMs: 5_000,
    allowInsecureRealm: options.allowInsecureRealm ?? false,
  });
}

/** A fetch that answers every request with `answer` and records what it was asked. */
function recordingFetch(answer: () => Response): { fetch: typeof fetch; calls: { url: string; init: RequestInit | undefined }[] } {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      calls.push({ url: String(input), init });
      return answer();
    },
  };
}

async function tokenRequestsFor(repo: string): Promise<{ scope: string[]; authorization: string }[]> {
  const all = (await (await fetch(`${upstreamUrl("bearer")}/_test/token-requests`)).json()) as { scope: string[]; authorization: string }[];
  return all.filter((r) => r.scope.some((s) => s.includes(repo)));
}

const scope = (name: string, actions: string[]) => ({ type: "repository", name, actions });

describe("UpstreamAuth", () => {
  it("sends nothing to an open upstream", async () => {
    expect(await auth("none", { credentials: CREDENTIALS }).authorizationFor([scope("a/b", ["pull"])])).toBeUndefined();
  });

  it("sends Basic to an upstream that challenges with Basic", async () => {
    expect(await auth("basic", { credentials: CREDENTIALS }).authorizationFor([scope("a/b", ["pull"])])).toBe(BASIC);
  });

  it("refuses to talk to a Basic upstream without credentials", async () => {
    await expect(auth("basic").authorizationFor([])).rejects.toBeInstanceOf(UpstreamError);
  });

  it("does the upstream's bearer dance with its credentials, caching the token per scope", async () => {
    const repo = uniqueRepo("dance");
    const upstream = auth("bearer", { credentials: CREDENTIALS });
    const first = await upstream.authorizationFor([scope(repo, ["pull"])]);
    expect(first).toMatch(/^Bearer upstream-token-/);
    expect(await upstream.authorizationFor([scope(repo, ["pull"])])).toBe(first);
    const push = await upstream.authorizationFor([scope(repo, ["pull", "push"])]);
    expect(push).not.toBe(first);
    expect(await tokenRequestsFor(repo)).toEqual([
      { scope: [`repository:${repo}:pull`], authorization: BASIC },
      { scope: [`repository:${repo}:pull,push`], authorization: BASIC },
    ]);
  });

  it("renews a cached token shortly before it expires (300 s tokens: after 270 s)", async () => {
    const repo = uniqueRepo("renew");
    const clock = { now: 1_000_000 };
    const upstream = auth("bearer", { credentials: CREDENTIALS, clock });
    const first = await upstream.authorizationFor([scope(repo, ["pull"])]);
    clock.now += 269_000;
    expect(await upstream.authorizationFor([scope(repo, ["pull"])])).toBe(first);
    clock.now += 2_000;
    expect(await upstream.authorizationFor([scope(repo, ["pull"])])).not.toBe(first);
    expect(await tokenRequestsFor(repo)).toHaveLength(2);
  });

  it("concurrent requests for one scope share one token request", async () => {
    const repo = uniqueRepo("shared");
    const upstream = auth("bearer", { credentials: CREDENTIALS });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => upstream.authorizationFor([scope(repo, ["pull"])])));
    expect(new Set(tokens).size).toBe(1);
    expect(await tokenRequestsFor(repo)).toHaveLength(1);
  });

  it("after an upstream 401, gets a token for the scope the challenge names", async () => {
    const repo = uniqueRepo("challenge");
    const upstream = auth("bearer", { credentials: CREDENTIALS });
    const retry = await upstream.afterUnauthorized(`Bearer realm="${upstreamUrl("bearer")}/token",service="fake-upstream",scope="repository:${repo}:pull"`, []);
    expect(retry).toMatch(/^Bearer upstream-token-/);
    expect((await tokenRequestsFor(repo)).map((r) => r.scope)).toEqual([[`repository:${repo}:pull`]]);
  });

  it("wrong credentials at the upstream's token service are a 502", async () => {
    const upstream = auth("bearer", { credentials: { username: UPSTREAM_USER, password: "nope" } });
    await expect(upstream.authorizationFor([scope(uniqueRepo("wrong"), ["pull"])])).rejects.toMatchObject({ status: 502, upstreamStatus: 401 });
  });

  it("an unreachable upstream is a 502", async () => {
    const upstream = new UpstreamAuth({ upstream: new URL("http://127.0.0.1:1"), fetch: (i, init) => fetch(i, init), now: () => 0, schemeMaxAgeMs: 1, timeoutMs: 5_000, allowInsecureRealm: false });
    await expect(upstream.authorizationFor([])).rejects.toMatchObject({ status: 502 });
  });
});

describe("where the upstream credentials may go", () => {
  const challengeFor = (realm: string, repo: string) => `Bearer realm="${realm}",service="fake-upstream",scope="repository:${repo}:pull"`;

  it("not to an http realm on another origin than the upstream's", async () => {
    const repo = uniqueRepo("insecure-realm");
    const otherOrigin = `${upstreamUrl("none")}/token`;
    await expect(auth("bearer", { credentials: CREDENTIALS }).afterUnauthorized(challengeFor(otherOrigin, repo), [])).rejects.toMatchObject({ status: 502 });
    const seen = (await (await fetch(`${upstreamUrl("none")}/_test/token-requests`)).json()) as { scope: string[] }[];
    expect(seen.filter((r) => r.scope.some((s) => s.includes(repo)))).toEqual([]);
  });

  it("to an http realm on another origin when UPSTREAM_ALLOW_INSECURE_REALM allows it", async () => {
    const repo = uniqueRepo("allowed-realm");
    const retry = await auth("bearer", { credentials: CREDENTIALS, allowInsecureRealm: true }).afterUnauthorized(challengeFor(`${upstreamUrl("none")}/token`, repo), []);
    expect(retry).toMatch(/^Bearer upstream-token-/);
  });

  it("to an https realm anywhere, and to the upstream's own origin over http", async () => {
    const https = recordingFetch(() => Response.json({ token: "from-https-realm" }));
    expect(await auth("bearer", { credentials: CREDENTIALS, fetch: https.fetch }).afterUnauthorized(challengeFor("https://auth.example.test/token", "a/b"), [])).toBe("Bearer from-https-realm");
    expect(https.calls.map((c) => new URL(c.url).origin)).toEqual(["https://auth.example.test"]);
    expect(await auth("bearer", { credentials: CREDENTIALS }).afterUnauthorized(challengeFor(`${upstreamUrl("bearer")}/token`, uniqueRepo("same-origin")), [])).toMatch(/^Bearer upstream-token-/);
  });

  it("never along a redirect from the realm", async () => {
    const redirecting = recordingFetch(() => new Response(null, { status: 307, headers: { Location: "http://evil.example/token" } }));
    const upstream = auth("bearer", { credentials: CREDENTIALS, fetch: redirecting.fetch });
    await expect(upstream.afterUnauthorized(challengeFor("https://auth.example.test/token", "a/b"), [])).rejects.toMatchObject({ status: 502, upstreamStatus: 307 });
    expect(redirecting.calls.map((c) => [c.url.split("?")[0], c.init?.redirect])).toEqual([["https://auth.example.test/token", "manual"]]);
  });

  it("not to a realm that is not http(s) at all", async () => {
    const never = recordingFetch(() => Response.json({ token: "x" }));
    await expect(auth("bearer", { credentials: CREDENTIALS, allowInsecureRealm: true, fetch: never.fetch }).afterUnauthorized(challengeFor("ftp://auth.example.test/token", "a/b"), [])).rejects.toMatchObject({ status: 502 });
    expect(never.calls).toEqual([]);
  });
});

describe("through the proxy, to a bearer-authenticated upstream", () => {
  it("the upstream sees its own token for the same scope, never the client's", async () => {
    const repo = uniqueRepo("bearer-proxy");
    const token = await registryToken({ access: [pull(repo)] });
    const testEnv = proxyEnv({ UPSTREAM_URL: upstreamUrl("bearer"), UPSTREAM_USERNAME: UPSTREAM_USER, UPSTREAM_PASSWORD: UPSTREAM_PASS });
    for (let i = 0; i < 3; i++) expect((await callProxy(get(`/v2/${repo}/manifests/v1`, token), testEnv)).status).toBe(200);
    const seen = await recorded(`/v2/${repo}/`, "bearer");
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((r) => r.headers["authorization"])).size).toBe(1);
    expect(seen[0]?.headers["authorization"]).toMatch(/^Bearer upstream-token-/);
    expect(await tokenRequestsFor(repo)).toEqual([{ scope: [`repository:${repo}:pull`], authorization: BASIC }]);
  });
});
