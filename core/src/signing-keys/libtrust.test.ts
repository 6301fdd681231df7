import { describe, expect, it } from "vitest";
import { base32, libtrustKeyId } from "./libtrust.ts";
import { parseCertificate } from "./certificate.ts";
import { parsePemBlocks } from "./pem.ts";
import { es256a, rs256 } from "./fixtures/openssl-keys.ts";

describe("libtrust KeyID", () => {
  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("base32 follows the RFC 4648 test vectors without padding: %j", (input, expected) => {
    expect(base32(new TextEncoder().encode(input))).toBe(expected);
  });

  // The expected IDs were computed by fixtures/make-openssl-keys.sh with openssl and coreutils base32.
  it.each([
    ["ES256", es256a],
    ["RS256", rs256],
  ])("matches the KeyID computed with openssl for an %s certificate", async (_alg, fixture) => {
    const [block] = parsePemBlocks(fixture.cert);
    const id = await libtrustKeyId(parseCertificate(block?.der ?? new Uint8Array()).spki);
    expect(id).toBe(fixture.libtrustKeyId);
    expect(id).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });
});
