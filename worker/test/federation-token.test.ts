/**
 * The proxy's federation JWTs (typ FEDERATION_TOKEN_TYP, issue 13) at the token
 * server: never a refresh token, even signed by the token server's own key with
 * a refresh token's claims; as a workload token only where a provider names
 * the proxy's issuer, like any other OIDC issuer. (The proxy side — never a
 * registry token — is proxy-worker/src/upstream/federation.test.ts.)
 */
import { env, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { FEDERATION_TOKEN_TYP } from "@jwt-registry-auth/protocol";
import { resetPolicyCache } from "../src/policy/store.ts";
import { loadSettings } from "../src/settings.ts";
import { signJwt } from "../src/signing/sign.ts";
import { refreshAudience } from "../src/token/refresh-token.ts";
import { captureConsole } from "./console-capture.ts";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";

const SERVICE = "registry.test";
const TOKEN_ISSUER = "test-token-issuer";

const reasonOf = async (res: Response): Promise<string | undefined> => ((await res.json()) as { errors: { detail?: { reason?: string } }[] }).errors[0]?.detail?.reason;

let proxyIssuer: string;

beforeEach(() => {
  proxyIssuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  captureConsole();
});

afterEach(() => vi.restoreAllMocks());

describe("a federation JWT at the token server", () => {
  it("is refused as a refresh token even when signed by the token server's key with a refresh token's iss, aud and claims", async () => {
    await putProviders([discoveryProvider("gha", proxyIssuer)]);
    const settings = await loadSettings(env);
    const now = Math.floor(Date.now() / 1000);
    const token = await signJwt(
      settings.signing.current,
      { iss: TOKEN_ISSUER, aud: refreshAudience(TOKEN_ISSUER), sub: "gha:x", iat: now, nbf: now, exp: now + 300, prv: "gha", pid: "p", wiss: proxyIssuer, wsub: "x", svc: SERVICE, clm: {} },
      { typ: FEDERATION_TOKEN_TYP, x5c: false },
    );
    const res = await SELF.fetch("http://token.test/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: "c", grant_type: "refresh_token", refresh_token: token, scope: "repository:acme/app:pull", service: SERVICE }).toString(),
    });
    expect(res.status).toBe(401);
    expect(await reasonOf(res)).toBe("wrong_type");
  });

  it("is a workload token only where a provider names the proxy's issuer", async () => {
    const federation = await mint(proxyIssuer, { sub: "registry-proxy", aud: `https://${SERVICE}` }, { header: { typ: FEDERATION_TOKEN_TYP } });
    const ask = () => SELF.fetch(`http://token.test/token?service=${SERVICE}&scope=repository:acme/app:pull`, { headers: { Authorization: `Basic ${btoa(`proxy:${federation}`)}` } });
    await putProviders([]);
    const untrusted = await ask();
    expect(untrusted.status).toBe(401);
    resetPolicyCache();
    await putProviders([discoveryProvider("proxy", proxyIssuer, { authz: 'scope.type == "repository" && scope.action == "pull"' })]);
    const trusted = await ask();
    expect(trusted.status).toBe(200);
  });
});
