import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningMaterial } from "./material.ts";

function openssl(args: string[], pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), "jra-cert-"));
  try {
    const file = join(dir, "cert.pem");
    writeFileSync(file, pem);
    return execFileSync("openssl", args.map((a) => (a === "CERT" ? file : a)), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(["ES256", "RS256"] as const)("self-signed %s certificate", (alg) => {
  const now = Math.floor(Date.now() / 1000);
  const material = generateSigningMaterial({ alg, days: 30, subject: "jra test ü", now });

  it("is parsed by Node's X509Certificate, matches the private key and verifies its own signature", async () => {
    const { keyPem, certPem } = await material;
    const cert = new X509Certificate(certPem);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe("CN=jra test ü");
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(true);
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(Date.parse(cert.validFrom) / 1000).toBe(now - 300);
    expect(Date.parse(cert.validTo) / 1000).toBe(now + 30 * 86_400);
  });

  it("is accepted by openssl x509 and verifies as its own trust anchor (openssl verify -x509_strict)", async () => {
    const { certPem } = await material;
    const text = openssl(["x509", "-noout", "-text", "-in", "CERT"], certPem);
    expect(text).toContain("Version: 3 (0x2)");
    expect(text).toMatch(alg === "ES256" ? /Signature Algorithm: ecdsa-with-SHA256/ : /Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toMatch(/Authority Key Identifier/);
    expect(openssl(["verify", "-x509_strict", "-CAfile", "CERT", "CERT"], certPem).trim()).toMatch(/: OK$/);
  });
});

it("writes GeneralizedTime for a notAfter from 2050 on, and Node reads it back", async () => {
  const now = Date.UTC(2049, 11, 1) / 1000;
  const { certPem, notAfter } = await generateSigningMaterial({ days: 60, now });
  expect(notAfter).toBe(now + 60 * 86_400);
  expect(Date.parse(new X509Certificate(certPem).validTo) / 1000).toBe(notAfter);
  expect(openssl(["x509", "-noout", "-enddate", "-in", "CERT"], certPem).trim()).toBe("notAfter=Jan 30 00:00:00 2050 GMT");
});
