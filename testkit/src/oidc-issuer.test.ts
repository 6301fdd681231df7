import { createLocalJWKSet, decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "./oidc-issuer.ts";

let issuer: OidcIssuer;
beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "ES256", path: "/gh" });
});
afterAll(() => issuer.close());

describe("startOidcIssuer", () => {
  it("serves discovery and a JWKS that verifies its GitHub-shaped tokens", async () => {
    const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(issuer.url);
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as Parameters<typeof createLocalJWKSet>[0];
    const token = await issuer.github({ owner: "acme", audience: "reg" });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: issuer.url, audience: "reg" });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ sub: "repo:acme/app:ref:refs/heads/main", repository_owner: "acme" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it("mints back-dated tokens and exports its key as SPKI PEM", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.kubernetes({ namespace: "ns", serviceAccount: "sa" }, { now: now - 100, expiresIn: 50 });
    const key = await importSPKI(await issuer.publicKeyPem(), "ES256");
    await expect(jwtVerify(token, key)).rejects.toThrow(/exp/);
    const { payload } = await jwtVerify(token, key, { currentDate: new Date((now - 60) * 1000) });
    expect(payload.sub).toBe("system:serviceaccount:ns:sa");
    expect(decodeProtectedHeader(token).kid).toBe(issuer.jwks().keys[0]?.kid);
  });
});
