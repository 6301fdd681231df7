/**
 * A throwaway ES256 signing key and self-signed certificate for the workerd
 * tests, made in Node when the config loads (nothing is committed).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SigningMaterial {
  readonly key: string;
  readonly cert: string;
}

export async function testSigningMaterial(): Promise<SigningMaterial> {
  const dir = mkdtempSync(join(tmpdir(), "jra-test-key-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=jwt-registry-auth test"], { stdio: "ignore" });
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
