import { describe, expect, it } from "vitest";
import { calculateJwkThumbprint, type JWK } from "jose";
import { checkValidity, loadSigningKeys, readSigningKeys, SigningKeyError, type SigningSetting } from "./signing-key-set.ts";
import { es256a, es256b, es384, expired, ed25519, rs256, rsa1024 } from "./fixtures/openssl-keys.ts";

/** An ES256 key and certificate made with openssl (fixtures/make-openssl-keys.sh), as an operator would. */
const configured = { SIGNING_KEY: es256a.key, SIGNING_CERT: es256a.cert };

async function rejection(keyPem: string | undefined, certPem: string | undefined, now?: number): Promise<SigningKeyError> {
  const error: unknown = await loadSigningKeys(keyPem, certPem, now).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SigningKeyError);
  return error as SigningKeyError;
}

async function expectRejected(keyPem: string | undefined, certPem: string | undefined, setting: SigningSetting, message: RegExp): Promise<void> {
  const error = await rejection(keyPem, certPem);
  expect(error.setting).toBe(setting);
  expect(error.message).toMatch(message);
  // Never any key material: no line of either PEM appears in the message.
  for (const line of `${keyPem ?? ""}\n${certPem ?? ""}`.split("\n").filter((l) => l.length > 16 && !l.startsWith("-----"))) {
    expect(error.message).not.toContain(line);
  }
}

/** RFC 7638 3.2, written out here rather than taken from jose: required members, lexicographic order, no spaces. */
async function rfc7638(jwk: JWK): Promise<string> {
  const canonical = jwk.kty === "EC" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(canonical))));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

describe("loadSigningKeys", () => {
  it("loads an ES256 key made with openssl", async () => {
    const set = await loadSigningKeys(configured.SIGNING_KEY, configured.SIGNING_CERT);
    expect(set.current.alg).toBe("ES256");
    expect(set.all).toEqual([set.current]);
    const { kid, use, alg, ...publicJwk } = set.current.publicJwk;
    expect({ kid, use, alg }).toEqual({ kid: set.current.kid, use: "sig", alg: "ES256" });
    expect(Object.keys(publicJwk).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(set.current.kid).toBe(await calculateJwkThumbprint(set.current.publicJwk, "sha256"));
    expect(set.current.kid).toBe(await rfc7638(set.current.publicJwk));
    expect(set.current.privateKey.extractable).toBe(false);
    expect(set.current.certificatePem.trim()).toBe(configured.SIGNING_CERT?.trim());
    expect(set.certificatesPem).toBe(set.current.certificatePem);
    expect(set.current.notAfter).toBeGreaterThan(Date.now() / 1000);
  });

  it.each([
    ["ES256", es256a, ["crv", "kty", "x", "y"]],
    ["ES384", es384, ["crv", "kty", "x", "y"]],
    ["RS256", rs256, ["e", "kty", "n"]],
  ] as const)("detects %s from the PKCS#8 key and computes its RFC 7638 kid and libtrust KeyID", async (alg, fixture, members) => {
    const set = await loadSigningKeys(fixture.key, fixture.cert);
    expect(set.current.alg).toBe(alg);
    expect(set.current.kid).toBe(await rfc7638(set.current.publicJwk));
    expect(set.current.kid).toBe(await calculateJwkThumbprint(set.current.publicJwk, "sha256"));
    expect(set.current.libtrustKeyId).toBe(fixture.libtrustKeyId);
    expect(Object.keys(set.current.publicJwk).sort()).toEqual([...members, "alg", "kid", "use"].sort());
    // 2126 is past UTCTime's range: the openssl fixtures exercise GeneralizedTime.
    expect(new Date(set.current.notAfter * 1000).getUTCFullYear()).toBeGreaterThan(2100);
  });

  it("publishes every key for rotation, signs with the first, and matches certificates by public key", async () => {
    const set = await loadSigningKeys(es256a.key + rs256.key + es256b.key, es256b.cert + es256a.cert + rs256.cert);
    const certKids = await Promise.all([es256a, rs256, es256b].map(async (f) => (await loadSigningKeys(f.key, f.cert)).current.kid));
    expect(set.all.map((k) => k.kid)).toEqual(certKids);
    expect(set.current.kid).toBe(certKids[0]);
    expect(set.jwks.keys.map((k) => k.kid)).toEqual(certKids);
    expect(set.all.map((k) => k.libtrustKeyId)).toEqual([es256a.libtrustKeyId, rs256.libtrustKeyId, es256b.libtrustKeyId]);
    expect(set.certificatesPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    expect(set.certificatesPem.indexOf(set.all[1]?.certificatePem ?? "-")).toBeGreaterThan(0);
  });

  it("ignores text around PEM blocks (openssl Bag Attributes, comments) and CRLF line ends", async () => {
    const set = await loadSigningKeys(`# current\r\n${es256a.key.replace(/\n/g, "\r\n")}`, `Bag Attributes\n    friendlyName: x\n${es256a.cert}`);
    expect(set.current.libtrustKeyId).toBe(es256a.libtrustKeyId);
  });

  it.each([
    ["a missing SIGNING_KEY", undefined, es256a.cert, "SIGNING_KEY", /SIGNING_KEY is not set/],
    ["an empty SIGNING_CERT", es256a.key, " \n", "SIGNING_CERT", /SIGNING_CERT is not set/],
    ["garbage in SIGNING_KEY", "not a key at all", es256a.cert, "SIGNING_KEY", /SIGNING_KEY holds no PEM block/],
    ["garbage in SIGNING_CERT", es256a.key, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "SIGNING_CERT", /certificate 1 is not a usable X.509 certificate/],
    ["bad base64", "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----", es256a.cert, "SIGNING_KEY", /block 1 \(PRIVATE KEY\) is not valid base64/],
    ["mismatched BEGIN/END", es256a.key.replace("END PRIVATE KEY", "END PUBLIC KEY"), es256a.cert, "SIGNING_KEY", /BEGIN PRIVATE KEY ends with END PUBLIC KEY/],
    ["a truncated key", es256a.key.replace(/\n[^\n]+\n-----END/, "\n-----END"), es256a.cert, "SIGNING_KEY", /key 1 is not a usable PKCS#8 private key/],
    ["a SEC1 EC key", es256a.key.replace(/PRIVATE KEY/g, "EC PRIVATE KEY"), es256a.cert, "SIGNING_KEY", /block 1 is a EC PRIVATE KEY, expected PRIVATE KEY: convert it to PKCS#8/],
    ["a certificate in SIGNING_KEY", es256a.cert, es256a.cert, "SIGNING_KEY", /certificates belong in SIGNING_CERT/],
    ["a key in SIGNING_CERT", es256a.key, es256a.key, "SIGNING_CERT", /private keys belong in SIGNING_KEY/],
    ["an Ed25519 key", ed25519.key, ed25519.cert, "SIGNING_KEY", /Ed25519 keys can't sign registry tokens/],
    ["an Ed25519 certificate", es256a.key, es256a.cert + ed25519.cert, "SIGNING_CERT", /certificate 2 .*Ed25519/],
    ["a 1024-bit RSA key", rsa1024.key, rsa1024.cert, "SIGNING_KEY", /key 1 is a 1024-bit RSA key; at least 2048/],
    ["a key without its certificate", es256a.key, es256b.cert, "SIGNING_CERT", /no certificate for key 1 of SIGNING_KEY/],
    ["the next key without its certificate", es256a.key + es256b.key, es256a.cert, "SIGNING_CERT", /no certificate for key 2 of SIGNING_KEY/],
    ["a certificate without its key", es256a.key, es256a.cert + rs256.cert, "SIGNING_CERT", /certificate 2 \(kid [\w-]+\) matches no key/],
    ["the same key twice", es256a.key + es256a.key, es256a.cert, "SIGNING_KEY", /keys 1 and 2 are the same key/],
    ["two certificates for one key", es256a.key, es256a.cert + es256a.cert, "SIGNING_CERT", /certificates 1 and 2 are for the same key/],
    ["an expired certificate", expired.key, expired.cert, "SIGNING_CERT", /certificate of key 1 .* expired at 2020-01-02T00:00:00.000Z/],
    ["an expired certificate of the previous key", es256a.key + expired.key, es256a.cert + expired.cert, "SIGNING_CERT", /certificate of key 2 .* expired/],
  ] as const)("rejects %s with a SigningKeyError naming the setting", async (_name, key, cert, setting, message) => {
    await expectRejected(key, cert, setting, message);
  });

  it("checks validity again on a memoized key set", async () => {
    const set = await loadSigningKeys(es256a.key, es256a.cert);
    const error = await rejection(es256a.key, es256a.cert, set.current.notAfter + 1);
    expect(error.setting).toBe("SIGNING_CERT");
    expect(error.message).toMatch(/expired/);
  });

  it("refuses a signing certificate that is not valid yet", async () => {
    const notBefore = Date.UTC(2020, 0, 1) / 1000;
    const error = await rejection(expired.key, expired.cert, notBefore - 3600);
    expect(error.setting).toBe("SIGNING_CERT");
    expect(error.message).toMatch(/not valid before 2020-01-01T00:00:00.000Z/);
    // Within the clock-skew leeway it loads.
    expect((await loadSigningKeys(expired.key, expired.cert, notBefore - 30)).current.alg).toBe("ES256");
  });

  it("reads an expired key set without judging it (for `keys show`); checkValidity then refuses it", async () => {
    const set = await readSigningKeys(expired.key, expired.cert);
    expect([set.current.notBefore, set.current.notAfter]).toEqual([Date.UTC(2020, 0, 1) / 1000, Date.UTC(2020, 0, 2) / 1000]);
    expect(() => checkValidity(set, Date.UTC(2020, 0, 1, 12) / 1000)).not.toThrow();
    expect(() => checkValidity(set, Date.UTC(2020, 0, 2) / 1000)).toThrow(SigningKeyError);
  });
});
