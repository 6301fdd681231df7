import { env } from "cloudflare:test";
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { SettingError } from "@jwt-registry-auth/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callProxy, get, proxyEnv, uniqueRepo } from "../../test/proxy.ts";
import { ISSUER, pull, registryToken, SERVICE } from "../../test/tokens.ts";
import { FEDERATION_TOKEN_SECONDS, FEDERATION_TOKEN_TYP, FederationIssuer } from "./federation.ts";

const PUBLIC = "https://proxy.test";

function issuer(keyPem: string = env.TEST_SIGNING_KEY, iss = PUBLIC): FederationIssuer {
  return new FederationIssuer({ issuer: iss, subject: "proxy-prod", keyPem });
}

afterEach(() => vi.restoreAllMocks());

describe("the proxy as an OIDC issuer", () => {
  it("signs federation JWTs: its iss, the configured sub, the asked aud, 5 minutes, its own typ and a JWKS kid", async () => {
    const fed = issuer();
    const nowMs = Date.now();
    const token = await fed.token("sts.amazonaws.com", nowMs);
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: "ES256", typ: FEDERATION_TOKEN_TYP });
    expect(FEDERATION_TOKEN_TYP).not.toBe("JWT");
    const [jwk] = (await fed.jwks()).keys;
    expect(jwk?.kid).toBe(header.kid);
    expect(jwk).not.toHaveProperty("d");
    const { payload } = await jwtVerify(token, await importJWK(jwk as object, "ES256"), { issuer: PUBLIC, audience: "sts.amazonaws.com", typ: FEDERATION_TOKEN_TYP });
    expect(payload.sub).toBe("proxy-prod");
    expect((payload.exp as number) - (payload.iat as number)).toBe(FEDERATION_TOKEN_SECONDS);
    expect(FEDERATION_TOKEN_SECONDS).toBe(300);
    expect(typeof payload.jti).toBe("string");
  });

  it("serves discovery and JWKS on the proxy's origin when FEDERATION_SIGNING_KEY is set", async () => {
    const testEnv = proxyEnv({ PUBLIC_URL: PUBLIC, FEDERATION_SIGNING_KEY: env.TEST_SIGNING_KEY, FEDERATION_SUBJECT: "proxy-prod" });
    const discovery = await callProxy(get("/.well-known/openid-configuration"), testEnv);
    expect(discovery.status).toBe(200);
    const doc = (await discovery.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({ issuer: PUBLIC, jwks_uri: `${PUBLIC}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ["ES256"] });
    const jwks = await callProxy(get("/.well-known/jwks.json"), testEnv);
    expect(jwks.status).toBe(200);
    const keys = (await jwks.json()) as { keys: Record<string, unknown>[] };
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(keys.keys[0]).not.toHaveProperty("d");
  });

  it("serves no issuer routes without a signing key (they fall to the registry API's 404)", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const response = await callProxy(get("/.well-known/openid-configuration"), proxyEnv());
    expect(response.status).toBe(404);
    expect(spy).toHaveBeenCalled();
  });

  it("an unusable FEDERATION_SIGNING_KEY is a 500 naming it, and never quotes it", async () => {
    await expect(issuer("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").jwks()).rejects.toThrow(SettingError);
    await expect(issuer("not a key").token("x", Date.now())).rejects.toMatchObject({ setting: "FEDERATION_SIGNING_KEY" });
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const response = await callProxy(get("/.well-known/jwks.json"), proxyEnv({ PUBLIC_URL: PUBLIC, FEDERATION_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nQUFBQQ==\n-----END PRIVATE KEY-----", FEDERATION_SUBJECT: "p" }));
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain("FEDERATION_SIGNING_KEY");
    expect(body).not.toContain("QUFBQQ");
    expect(JSON.stringify(spy.mock.calls)).not.toContain("QUFBQQ");
  });
});

describe("a federation JWT is never a registry token", () => {
  it("is refused by the proxy's registry-token verification even when signed by a key it trusts, for its service, from its issuer", async () => {
    const repo = uniqueRepo("federation");
    // Same key as TEST_JWKS (which the proxy trusts), iss = TOKEN_ISSUER, aud = TOKEN_SERVICE: only typ tells it apart.
    const federation = await issuer(env.TEST_SIGNING_KEY, ISSUER).token(SERVICE, Date.now());
    expect(decodeJwt(federation)).toMatchObject({ iss: ISSUER, aud: SERVICE });
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const refused = await callProxy(get(`/v2/${repo}/manifests/latest`, federation));
    expect(refused.status).toBe(401);
    const line = JSON.parse(String(spy.mock.calls.at(-1)?.[0])) as { reason: string };
    expect(line.reason).toMatch(/^invalid_token: wrong_type/);
    // The control: a registry token with the same key and claims gets past verification.
    const accepted = await callProxy(get(`/v2/${repo}/manifests/latest`, await registryToken({ access: [pull(repo)] })));
    expect(accepted.status).not.toBe(401);
  });
});
