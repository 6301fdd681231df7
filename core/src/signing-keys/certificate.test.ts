import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { importX509 } from "jose";
import { DerError } from "../der.ts";
import { parseCertificate } from "./certificate.ts";
import { parsePemBlocks } from "./pem.ts";
import { ed25519, es256a, es384, expired, rs256 } from "./fixtures/openssl-keys.ts";

const derOf = (pem: string) => parsePemBlocks(pem)[0]?.der ?? new Uint8Array();

describe("parseCertificate", () => {
  it("reads the validity period", () => {
    const info = parseCertificate(derOf(expired.cert));
    expect(info.notBefore).toBe(Date.UTC(2020, 0, 1) / 1000);
    expect(info.notAfter).toBe(Date.UTC(2020, 0, 2) / 1000);
  });

  it.each([
    ["ES256", es256a, { kind: "EC", alg: "ES256", namedCurve: "P-256" }],
    ["ES384", es384, { kind: "EC", alg: "ES384", namedCurve: "P-384" }],
    ["RS256", rs256, { kind: "RSA", alg: "RS256" }],
  ] as const)("extracts the same SubjectPublicKeyInfo as jose's own X.509 reader (%s)", async (alg, fixture, algorithm) => {
    const info = parseCertificate(derOf(fixture.cert));
    expect(info.keyAlgorithm).toEqual(algorithm);
    const fromJose = new Uint8Array((await crypto.subtle.exportKey("spki", await importX509(fixture.cert, alg, { extractable: true }))) as ArrayBuffer);
    expect(info.spki).toEqual(fromJose);
  });

  it("refuses an Ed25519 certificate, saying why", () => {
    expect(() => parseCertificate(derOf(ed25519.cert))).toThrow(/Ed25519 keys can't sign registry tokens/);
  });

  it("throws only DerError on truncated or corrupted certificates", () => {
    const der = derOf(es256a.cert);
    expect(() => parseCertificate(der.subarray(0, der.length - 1))).toThrow(DerError);
    expect(() => parseCertificate(new Uint8Array())).toThrow(DerError);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const corrupted = der.slice();
        corrupted[at] = value;
        try {
          parseCertificate(corrupted);
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
