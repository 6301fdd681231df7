/**
 * A throwaway ES256 registry-token signing key for the workerd tests, made in
 * Node when the config loads (nothing is committed): the PKCS#8 key the tests
 * sign with, its self-signed certificate (for TOKEN_CERTS) and its public JWKS
 * (for TOKEN_JWKS, the service binding and the JWKS URL).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, importX509, type JWK } from "jose";

export interface KeyMaterial {
  readonly keyPem: string;
  readonly certPem: string;
  readonly jwks: { keys: JWK[] };
}

function opensslKeyAndCert(): { keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "jra-proxy-key-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=jwt-registry-auth proxy test"], { stdio: "ignore" });
    return { keyPem: readFileSync(key, "utf8"), certPem: readFileSync(cert, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function keyMaterial(): Promise<KeyMaterial> {
  const { keyPem, certPem } = opensslKeyAndCert();
  const jwk = await exportJWK(await importX509(certPem, "ES256", { extractable: true }));
  return { keyPem, certPem, jwks: { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "ES256", use: "sig" }] } };
}
