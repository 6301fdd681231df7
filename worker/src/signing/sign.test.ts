import { env } from "cloudflare:test";
import type { Env } from "../env.ts";
import { describe, expect, it } from "vitest";
import { decodeProtectedHeader, importX509 } from "jose";
import { REFRESH_TOKEN_TYP, REGISTRY_TOKEN_TYP, verifyRegistryToken } from "@jwt-registry-auth/protocol";
import { loadSigningKeys } from "@jwt-registry-auth/core/signing-keys/signing-key-set";
import { signJwt } from "./sign.ts";
import { es256a, es256b, es384, rs256 } from "@jwt-registry-auth/core/signing-keys/fixtures/openssl-keys";

/** The ES256 key and certificate the test config made with openssl. */
const configured = env as Pick<Env, "SIGNING_KEY" | "SIGNING_CERT">;

const now = Math.floor(Date.now() / 1000);
const claims = { iss: "test-issuer", sub: "gh:repo:o/r:ref:refs/heads/main", aud: "registry.example", iat: now, nbf: now, exp: now + 300, jti: "j1", access: [{ type: "repository", name: "o/r", actions: ["pull"] }] };

/** The certificate's DER as std base64, straight from the PEM body (independent of our encoder). */
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, "");

describe("signJwt", () => {
  it.each([
    ["ES256 (test config, openssl)", configured.SIGNING_KEY ?? "", configured.SIGNING_CERT ?? ""],
    ["RS256 (openssl fixture)", rs256.key, rs256.cert],
    ["ES384 (openssl fixture)", es384.key, es384.cert],
  ])("signs a registry token %s that verifies with the certificate's public key", async (_name, keyPem, certPem) => {
    const { current } = await loadSigningKeys(keyPem, certPem);
    const token = await signJwt(current, claims, { typ: REGISTRY_TOKEN_TYP, x5c: true });
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: current.alg, typ: "JWT", kid: current.kid, x5c: [pemBody(certPem)] });
    const result = await verifyRegistryToken(token, await importX509(certPem, current.alg), { issuer: "test-issuer", audience: "registry.example" });
    expect(result).toEqual({ ok: true, value: claims });
  });

  it("leaves x5c out when asked (registries configured with a jwks file)", async () => {
    const { current } = await loadSigningKeys(rs256.key, rs256.cert);
    const token = await signJwt(current, claims, { typ: REGISTRY_TOKEN_TYP, x5c: false });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: "JWT", kid: current.kid });
    expect((await verifyRegistryToken(token, current.publicJwk, { issuer: "test-issuer", audience: "registry.example" })).ok).toBe(true);
  });

  it("puts the requested typ in the header, so a refresh token never passes for a registry token", async () => {
    const { current } = await loadSigningKeys(rs256.key, rs256.cert);
    const token = await signJwt(current, claims, { typ: REFRESH_TOKEN_TYP, x5c: false });
    expect(decodeProtectedHeader(token).typ).toBe(REFRESH_TOKEN_TYP);
    expect(await verifyRegistryToken(token, current.publicJwk, { issuer: "test-issuer", audience: "registry.example" })).toMatchObject({ ok: false, reason: "wrong_type" });
  });

  it("is not verified by another key", async () => {
    const { current } = await loadSigningKeys(es256a.key, es256a.cert);
    const token = await signJwt(current, claims, { typ: REGISTRY_TOKEN_TYP, x5c: true });
    expect(await verifyRegistryToken(token, await importX509(es256b.cert, "ES256"), { issuer: "test-issuer", audience: "registry.example" })).toMatchObject({ ok: false, reason: "bad_signature" });
  });
});
