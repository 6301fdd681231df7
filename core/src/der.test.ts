import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  DerError,
  DerTag,
  decodeBitString,
  decodeOid,
  decodeTime,
  decodeUnsignedInteger,
  encodeBitString,
  encodeBoolean,
  encodeDer,
  encodeExplicit,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSmallInteger,
  encodeTime,
  encodeUnsignedInteger,
  encodeUtf8String,
  expectTag,
  readChildren,
  readDer,
  readSequence,
} from "./der.ts";

const bytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("DER writer", () => {
  it("encodes well-known values byte for byte", () => {
    expect(hexOf(encodeOid("1.2.840.10045.2.1"))).toBe("06072a8648ce3d0201");
    expect(hexOf(encodeOid("2.5.29.19"))).toBe("0603551d13");
    expect(hexOf(encodeNull())).toBe("0500");
    expect(hexOf(encodeBoolean(true))).toBe("0101ff");
    expect(hexOf(encodeSmallInteger(0))).toBe("020100");
    expect(hexOf(encodeSmallInteger(2))).toBe("020102");
    expect(hexOf(encodeSmallInteger(128))).toBe("02020080");
    expect(hexOf(encodeUnsignedInteger(bytes("0000ff")))).toBe("020200ff");
    expect(hexOf(encodeBitString(bytes("abcd")))).toBe("030300abcd");
    expect(hexOf(encodeExplicit(0, encodeSmallInteger(2)))).toBe("a003020102");
  });

  it("uses long-form lengths from 128 bytes on", () => {
    expect(hexOf(encodeOctetString(new Uint8Array(127))).slice(0, 4)).toBe("047f");
    expect(hexOf(encodeOctetString(new Uint8Array(128))).slice(0, 6)).toBe("048180");
    expect(hexOf(encodeOctetString(new Uint8Array(70000))).slice(0, 10)).toBe("0483011170");
  });

  it("writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280)", () => {
    expect(new TextDecoder().decode(readDer(encodeTime(Date.UTC(2049, 11, 31, 23, 59, 59) / 1000)).content)).toBe("491231235959Z");
    const t2050 = readDer(encodeTime(Date.UTC(2050, 0, 1) / 1000));
    expect(t2050.tag).toBe(DerTag.GENERALIZED_TIME);
    expect(new TextDecoder().decode(t2050.content)).toBe("20500101000000Z");
    expect(() => encodeTime(Date.UTC(1949, 0, 1) / 1000)).toThrow(DerError);
  });

  it("refuses invalid OIDs and integers", () => {
    expect(() => encodeOid("3.1")).toThrow(DerError);
    expect(() => encodeOid("1.40")).toThrow(DerError);
    expect(() => encodeOid("1")).toThrow(DerError);
    expect(() => encodeSmallInteger(-1)).toThrow(DerError);
  });
});

describe("DER reader", () => {
  it("round-trips a nested structure", () => {
    const encoded = encodeSequence(encodeOid("1.2.840.113549.1.1.11"), encodeNull(), encodeExplicit(3, encodeSequence(encodeUtf8String("ü"))), encodeUnsignedInteger(bytes("80")));
    const [oid, nul, explicit, int] = readSequence(readDer(encoded), "test", 4);
    expect(decodeOid(oid, "oid")).toBe("1.2.840.113549.1.1.11");
    expect(expectTag(nul, DerTag.NULL, "null").content.length).toBe(0);
    expect(explicit?.tag).toBe(0xa3);
    const [inner] = readChildren(explicit as NonNullable<typeof explicit>);
    expect(new TextDecoder().decode(readChildren(inner as NonNullable<typeof inner>)[0]?.content)).toBe("ü");
    expect(hexOf(decodeUnsignedInteger(int, "int"))).toBe("80");
  });

  it("round-trips OIDs with large arcs and any small integer", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.integer({ min: 0, max: 2 ** 40 })), (a, b, rest) => {
        const oid = [a, b, ...rest].join(".");
        expect(decodeOid(readDer(encodeOid(oid)), "oid")).toBe(oid);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const magnitude = decodeUnsignedInteger(readDer(encodeSmallInteger(n)), "n");
        expect(magnitude.reduce((v, x) => v * 256 + x, 0)).toBe(n);
      }),
    );
  });

  it("round-trips times", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(9999, 11, 31) / 1000 }), (t) => {
        expect(decodeTime(readDer(encodeTime(t)), "t")).toBe(t);
      }),
    );
    expect(decodeTime(readDer(encodeDer(DerTag.UTC_TIME, new TextEncoder().encode("500101000000Z"))), "t")).toBe(Date.UTC(1950, 0, 1) / 1000);
  });

  it.each([
    ["empty input", ""],
    ["a truncated value", "3004020101"],
    ["a truncated length", "3082"],
    ["an indefinite length", "30800000"],
    ["a non-minimal length", "04817f" + "00".repeat(127)],
    ["a length with a leading zero octet", "0482008000"],
    ["trailing bytes", "050000"],
    ["a multi-byte tag", "1f0100"],
  ])("rejects %s with a DerError", (_name, hex) => {
    expect(() => readDer(bytes(hex))).toThrow(DerError);
  });

  it.each([
    ["a negative integer", () => decodeUnsignedInteger(readDer(bytes("020180")), "n")],
    ["a non-minimal integer", () => decodeUnsignedInteger(readDer(bytes("0202007f")), "n")],
    ["an empty integer", () => decodeUnsignedInteger(readDer(bytes("0200")), "n")],
    ["a bit string with unused bits", () => decodeBitString(readDer(bytes("030201ff")), "b")],
    ["a truncated OID", () => decodeOid(readDer(bytes("06022a86")), "oid")],
    ["a non-minimal OID arc", () => decodeOid(readDer(bytes("06022a8001")), "oid")],
    ["a wrong tag", () => expectTag(readDer(bytes("0500")), DerTag.INTEGER, "x")],
    ["a missing field", () => expectTag(undefined, DerTag.INTEGER, "x")],
    ["too few elements", () => readSequence(readDer(bytes("3000")), "seq", 1)],
    ["children of a primitive", () => readChildren(readDer(bytes("0500")))],
    ["a time without seconds", () => decodeTime(readDer(encodeDer(DerTag.UTC_TIME, new TextEncoder().encode("2001010000Z"))), "t")],
    ["February 30th", () => decodeTime(readDer(encodeDer(DerTag.GENERALIZED_TIME, new TextEncoder().encode("20240230000000Z"))), "t")],
    ["hour 24", () => decodeTime(readDer(encodeDer(DerTag.GENERALIZED_TIME, new TextEncoder().encode("20240101240000Z"))), "t")],
  ])("rejects %s with a DerError", (_name, read) => {
    expect(read).toThrow(DerError);
  });

  it("never throws anything but DerError on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          const walk = (node: ReturnType<typeof readDer>): void => {
            if (node.tag & 0x20) readChildren(node).forEach(walk);
            else if (node.tag === DerTag.OID) decodeOid(node, "oid");
            else if (node.tag === DerTag.UTC_TIME || node.tag === DerTag.GENERALIZED_TIME) decodeTime(node, "t");
            else if (node.tag === DerTag.INTEGER) decodeUnsignedInteger(node, "n");
          };
          walk(readDer(Uint8Array.from(input)));
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
