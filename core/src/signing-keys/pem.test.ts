import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { base64Decode, base64Encode, parsePemBlocks, PemError, toPem } from "./pem.ts";

describe("PEM", () => {
  it("reads every block in order, with its label", () => {
    const text = `${toPem("PRIVATE KEY", Uint8Array.of(1, 2, 3))}junk between\n${toPem("CERTIFICATE", Uint8Array.of(4))}`;
    expect(parsePemBlocks(text)).toEqual([
      { label: "PRIVATE KEY", der: Uint8Array.of(1, 2, 3) },
      { label: "CERTIFICATE", der: Uint8Array.of(4) },
    ]);
    expect(parsePemBlocks("no blocks here")).toEqual([]);
  });

  it("writes 64-character lines and round-trips any bytes", () => {
    const pem = toPem("CERTIFICATE", new Uint8Array(100));
    expect(pem.split("\n").map((l) => l.length)).toEqual([27, 64, 64, 8, 25, 0]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (der) => {
        expect(parsePemBlocks(toPem("X", der))).toEqual([{ label: "X", der }]);
        expect(base64Decode(base64Encode(der))).toEqual(der);
      }),
    );
  });

  it("encodes standard base64 (+ and /, padded), not base64url", () => {
    expect(base64Encode(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe("+/+/");
    expect(base64Encode(Uint8Array.of(0xff))).toBe("/w==");
  });

  it.each([
    ["mismatched labels", "-----BEGIN A-----\nAAAA\n-----END B-----", /BEGIN A ends with END B/],
    ["bad characters", "-----BEGIN A-----\nAA_A\n-----END A-----", /block 1 \(A\) is not valid base64/],
    ["a bad length", "-----BEGIN A-----\nAAAAA\n-----END A-----", /not valid base64/],
    ["padding in the middle", "-----BEGIN A-----\nAA==AAAA\n-----END A-----", /not valid base64/],
    ["an empty body", "-----BEGIN A-----\n-----END A-----", /not valid base64/],
    ["encryption headers", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----", /has headers: an encrypted key/],
  ])("rejects %s with a PemError that quotes no content", (_name, text, message) => {
    let error: unknown;
    try {
      parsePemBlocks(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PemError);
    expect((error as PemError).message).toMatch(message);
    expect((error as PemError).message).not.toMatch(/AAAA|AA_A/);
  });
});
