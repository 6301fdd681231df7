import { SettingError, type ResourceScope } from "@jwt-registry-auth/protocol";
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../upstream-auth.ts";
import type { CredentialSource, MintContext, MintedCredential } from "./credential-source.ts";
import { MintedAuth, renewalMarginMs } from "./minted-auth.ts";
import { refused, stepFetch } from "./step-fetch.ts";

const A: ResourceScope = { type: "repository", name: "a/b", actions: ["pull"] };
const B: ResourceScope = { type: "repository", name: "c/d", actions: ["pull", "push"] };

function harness(options: { perScope?: boolean; lifetimeMs?: number; mint?: (scopes: readonly string[]) => Promise<MintedCredential> } = {}) {
  const clock = { now: 1_000_000 };
  const seen: (readonly string[])[] = [];
  let n = 0;
  const source: CredentialSource = {
    mode: "test",
    perScope: options.perScope ?? false,
    async mint(_ctx, scopes) {
      seen.push(scopes);
      if (options.mint) return options.mint(scopes);
      n++;
      return { authorization: `Basic cred-${n}`, expiresAt: clock.now + (options.lifetimeMs ?? 60_000) };
    },
  };
  const ctx: MintContext = { fetch: () => Promise.reject(new Error("no network")), now: () => clock.now, federationToken: async () => "jwt", timeoutMs: 1000 };
  return { clock, seen, auth: new MintedAuth(source, ctx) };
}

describe("MintedAuth", () => {
  it("caches until the renewal margin before expiry, then mints again", async () => {
    const { clock, auth } = harness({ lifetimeMs: 60_000 });
    expect(await auth.authorizationFor([A])).toBe("Basic cred-1");
    clock.now += 60_000 - renewalMarginMs(60_000) - 1;
    expect(await auth.authorizationFor([B])).toBe("Basic cred-1");
    clock.now += 1;
    expect(await auth.authorizationFor([A])).toBe("Basic cred-2");
    expect(auth.mints).toBe(2);
  });

  it("renewal margin: a quarter of the lifetime, at most 5 minutes", () => {
    expect(renewalMarginMs(60_000)).toBe(15_000);
    expect(renewalMarginMs(12 * 3_600_000)).toBe(300_000);
  });

  it("concurrent misses share one mint", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = harness({ mint: async () => (await gate, { authorization: "Basic shared", expiresAt: h.clock.now + 60_000 }) });
    const all = Promise.all([h.auth.authorizationFor([A]), h.auth.authorizationFor([A]), h.auth.authorizationFor([B])]);
    release();
    expect(await all).toEqual(["Basic shared", "Basic shared", "Basic shared"]);
    expect(h.auth.mints).toBe(1);
  });

  it("per-scope sources get the formatted scopes and one credential per scope set", async () => {
    const { seen, auth } = harness({ perScope: true });
    await auth.authorizationFor([A]);
    await auth.authorizationFor([B]);
    await auth.authorizationFor([A]);
    expect(seen).toEqual([["repository:a/b:pull"], ["repository:c/d:pull,push"]]);
  });

  it("scope-independent sources get no scopes", async () => {
    const { seen, auth } = harness();
    await auth.authorizationFor([A, B]);
    expect(seen).toEqual([[]]);
  });

  it("after an upstream 401 the credential is forgotten and minted again", async () => {
    const { auth } = harness();
    expect(await auth.authorizationFor([A])).toBe("Basic cred-1");
    expect(await auth.afterUnauthorized(null, [A])).toBe("Basic cred-2");
    expect(await auth.authorizationFor([A])).toBe("Basic cred-2");
  });

  it("a failed mint is not cached, and the next request mints again", async () => {
    let fail = true;
    const h = harness({ mint: async () => {
      if (fail) throw new UpstreamError(503, "STS AssumeRoleWithWebIdentity refused: Throttling");
      return { authorization: "Basic ok", expiresAt: h.clock.now + 60_000 };
    } });
    await expect(h.auth.authorizationFor([A])).rejects.toMatchObject({ status: 503, message: "STS AssumeRoleWithWebIdentity refused: Throttling" });
    fail = false;
    expect(await h.auth.authorizationFor([A])).toBe("Basic ok");
  });

  it("maps unexpected errors to a 502 naming the mode (never their message), passes SettingErrors, refuses expired credentials", async () => {
    const secret = harness({ mint: async () => Promise.reject(new Error("secret AKIA1234")) });
    const error = await secret.auth.authorizationFor([A]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 502, message: "test credential mint failed" });
    const setting = harness({ mint: async () => Promise.reject(new SettingError("AWS_ROLE_ARN", "bad")) });
    await expect(setting.auth.authorizationFor([A])).rejects.toBeInstanceOf(SettingError);
    const stale = harness({ mint: async () => ({ authorization: "Basic x", expiresAt: stale.clock.now }) });
    await expect(stale.auth.authorizationFor([A])).rejects.toMatchObject({ status: 502 });
  });
});

describe("stepFetch and refused", () => {
  const ctx = (fetch: typeof globalThis.fetch, timeoutMs = 1000): MintContext => ({ fetch, now: () => Date.now(), federationToken: async () => "jwt", timeoutMs });

  it("an unreachable endpoint is a 502, a timeout a 504, both naming the step", async () => {
    await expect(stepFetch(ctx(() => Promise.reject(new TypeError("connect ECONNREFUSED"))), "STS AssumeRoleWithWebIdentity", new URL("https://sts.test/"), {})).rejects.toMatchObject({
      status: 502,
      message: "STS AssumeRoleWithWebIdentity could not be reached",
    });
    const hanging: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
    await expect(stepFetch(ctx(hanging, 20), "ECR GetAuthorizationToken", new URL("https://ecr.test/"), {})).rejects.toMatchObject({ status: 504, message: "ECR GetAuthorizationToken did not answer in time" });
  });

  it("refusals: 5xx and 429 are 503, others 502; the code is cut to a safe identifier", () => {
    expect(refused("ECR GetAuthorizationToken", 400, "AccessDenied")).toMatchObject({ status: 502, message: "ECR GetAuthorizationToken refused: AccessDenied" });
    expect(refused("STS AssumeRoleWithWebIdentity", 503, "ServiceUnavailable").status).toBe(503);
    expect(refused("STS AssumeRoleWithWebIdentity", 429, undefined).message).toBe("STS AssumeRoleWithWebIdentity refused: HTTP 429");
    expect(refused("X", 400, "<b>bad token eyJ...</b>").message).toBe("X refused: bbadtokeneyJ...b");
  });
});
