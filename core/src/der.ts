/**
 * A small DER (ASN.1 Distinguished Encoding Rules) reader and writer: just what
 * X.509 certificates, PKCS#8 and SubjectPublicKeyInfo need. It runs in workerd
 * (no node:crypto, no X509Certificate there) and in Node, so the Worker and the
 * CLI read and build certificates with the same code.
 *
 * The reader is strict like Go's encoding/asn1 (which Distribution uses):
 * definite minimal lengths, single-byte tags, no trailing bytes. Anything else
 * is a {@link DerError}, never another exception.
 */

/** Bytes backed by a plain ArrayBuffer: what WebCrypto accepts as a BufferSource under lib.dom. */
export type Bytes = Uint8Array<ArrayBuffer>;

export class DerError extends Error {
  override readonly name = "DerError";
}

export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT_SPECIFIC = 0x80;

/** Tag of `[n] EXPLICIT` (constructed) or `[n] IMPLICIT` on a primitive type. */
export function contextTag(n: number, constructed = true): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new DerError(`context tag [${n}] is out of range`);
  return CONTEXT_SPECIFIC | (constructed ? CONSTRUCTED : 0) | n;
}

/** One TLV: `bytes` is the whole encoding (tag, length, content), `content` the value. */
export interface DerNode {
  readonly tag: number;
  readonly bytes: Bytes;
  readonly content: Bytes;
}

function readNodeAt(input: Bytes, offset: number): DerNode {
  const tag = input[offset];
  if (tag === undefined) throw new DerError(`truncated DER: expected a tag at offset ${offset}`);
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte DER tag at offset ${offset} is not supported`);
  const first = input[offset + 1];
  if (first === undefined) throw new DerError(`truncated DER: expected a length at offset ${offset + 1}`);
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0) throw new DerError(`indefinite length at offset ${offset + 1} is not DER`);
    if (octets > 4) throw new DerError(`length at offset ${offset + 1} is too large`);
    length = 0;
    for (let i = 0; i < octets; i++) {
      const b = input[offset + 2 + i];
      if (b === undefined) throw new DerError(`truncated DER length at offset ${offset + 1}`);
      length = length * 256 + b;
    }
    if (length < 0x80 || (octets > 1 && input[offset + 2] === 0)) throw new DerError(`non-minimal length at offset ${offset + 1} is not DER`);
    headerLength += octets;
  }
  const start = offset + headerLength;
  const end = start + length;
  if (end > input.length) throw new DerError(`truncated DER: value at offset ${offset} needs ${length} bytes, ${input.length - start} left`);
  return { tag, bytes: input.subarray(offset, end), content: input.subarray(start, end) };
}

/** Reads exactly one TLV that spans all of `input`. */
export function readDer(input: Bytes): DerNode {
  const node = readNodeAt(input, 0);
  if (node.bytes.length !== input.length) throw new DerError(`${input.length - node.bytes.length} trailing bytes after DER value`);
  return node;
}

/** The TLVs inside a constructed value, in order. */
export function readChildren(node: DerNode): DerNode[] {
  if (!(node.tag & CONSTRUCTED)) throw new DerError(`tag 0x${hex(node.tag)} is not a constructed type`);
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const child = readNodeAt(node.content, offset);
    children.push(child);
    offset += child.bytes.length;
  }
  return children;
}

/** Asserts the node's tag; `what` names the field in the error. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw new DerError(`${what} is missing`);
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${hex(tag)}, found 0x${hex(node.tag)}`);
  return node;
}

/** The children of a SEQUENCE, at least `min` of them. */
export function readSequence(node: DerNode | undefined, what: string, min = 0): DerNode[] {
  const children = readChildren(expectTag(node, DerTag.SEQUENCE, what));
  if (children.length < min) throw new DerError(`${what}: expected at least ${min} elements, found ${children.length}`);
  return children;
}

export function decodeOid(node: DerNode | undefined, what: string): string {
  const { content } = expectTag(node, DerTag.OID, what);
  if (content.length === 0) throw new DerError(`${what}: empty OBJECT IDENTIFIER`);
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i] as number;
    if (value === 0 && b === 0x80) throw new DerError(`${what}: non-minimal OBJECT IDENTIFIER arc`);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`${what}: OBJECT IDENTIFIER arc is too large`);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) {
      throw new DerError(`${what}: truncated OBJECT IDENTIFIER`);
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

/** An INTEGER's magnitude, big-endian without sign padding; negative values are refused. */
export function decodeUnsignedInteger(node: DerNode | undefined, what: string): Bytes {
  const { content } = expectTag(node, DerTag.INTEGER, what);
  const first = content[0];
  if (first === undefined) throw new DerError(`${what}: empty INTEGER`);
  if (first & 0x80) throw new DerError(`${what}: negative INTEGER`);
  if (content.length > 1 && first === 0 && !((content[1] as number) & 0x80)) throw new DerError(`${what}: non-minimal INTEGER`);
  return first === 0 && content.length > 1 ? content.subarray(1) : content;
}

/** A BIT STRING's bytes; only whole-byte strings (what keys and signatures are). */
export function decodeBitString(node: DerNode | undefined, what: string): Bytes {
  const { content } = expectTag(node, DerTag.BIT_STRING, what);
  if (content.length === 0 || content[0] !== 0) throw new DerError(`${what}: BIT STRING with unused bits is not supported`);
  return content.subarray(1);
}

const TIME_PATTERN = { [DerTag.UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/, [DerTag.GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ };

/** UTCTime or GeneralizedTime (the RFC 5280 forms: seconds, `Z`) → seconds since the epoch. */
export function decodeTime(node: DerNode | undefined, what: string): number {
  if (node === undefined) throw new DerError(`${what} is missing`);
  if (node.tag !== DerTag.UTC_TIME && node.tag !== DerTag.GENERALIZED_TIME) throw new DerError(`${what}: expected UTCTime or GeneralizedTime`);
  const text = String.fromCharCode(...node.content);
  const match = TIME_PATTERN[node.tag].exec(text);
  if (!match) throw new DerError(`${what}: malformed time`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  // RFC 5280 4.1.2.5.1: a two-digit year YY >= 50 is 19YY, otherwise 20YY.
  const fullYear = node.tag === DerTag.UTC_TIME ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  const ms = Date.UTC(fullYear, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw new DerError(`${what}: invalid date`);
  return ms / 1000;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

// ---- writer ----

function encodeLength(length: number): Bytes {
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

function concat(parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A TLV with the given tag around the concatenated contents. */
export function encodeDer(tag: number, ...contents: Uint8Array[]): Bytes {
  const content = concat(contents);
  return concat([Uint8Array.of(tag), encodeLength(content.length), content]);
}

export function encodeSequence(...children: Uint8Array[]): Bytes {
  return encodeDer(DerTag.SEQUENCE, ...children);
}

export function encodeSet(...children: Uint8Array[]): Bytes {
  return encodeDer(DerTag.SET, ...children);
}

/** `[n] EXPLICIT child`. */
export function encodeExplicit(n: number, child: Uint8Array): Bytes {
  return encodeDer(contextTag(n), child);
}

/** A non-negative INTEGER from its big-endian magnitude (minimal, with a 0 pad when the high bit is set). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Bytes {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  if (trimmed.length === 0) return encodeDer(DerTag.INTEGER, Uint8Array.of(0));
  return (trimmed[0] as number) & 0x80 ? encodeDer(DerTag.INTEGER, Uint8Array.of(0), trimmed) : encodeDer(DerTag.INTEGER, trimmed);
}

export function encodeSmallInteger(n: number): Bytes {
  if (!Number.isSafeInteger(n) || n < 0) throw new DerError(`INTEGER ${n} is not a non-negative safe integer`);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return encodeUnsignedInteger(Uint8Array.from(octets));
}

export function encodeOid(oid: string): Bytes {
  const arcs = oid.split(".").map(Number);
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || first > 2 || (first < 2 && second > 39)) {
    throw new DerError(`invalid OBJECT IDENTIFIER ${oid}`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const group: number[] = [arc % 128];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v % 128));
    bytes.push(...group);
  }
  return encodeDer(DerTag.OID, Uint8Array.from(bytes));
}

export function encodeNull(): Bytes {
  return encodeDer(DerTag.NULL);
}

export function encodeBoolean(value: boolean): Bytes {
  return encodeDer(DerTag.BOOLEAN, Uint8Array.of(value ? 0xff : 0));
}

export function encodeBitString(bytes: Uint8Array): Bytes {
  return encodeDer(DerTag.BIT_STRING, Uint8Array.of(0), bytes);
}

export function encodeOctetString(bytes: Uint8Array): Bytes {
  return encodeDer(DerTag.OCTET_STRING, bytes);
}

export function encodeUtf8String(text: string): Bytes {
  return encodeDer(DerTag.UTF8_STRING, new TextEncoder().encode(text));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on; whole seconds. */
export function encodeTime(epochSeconds: number): Bytes {
  const date = new Date(Math.floor(epochSeconds) * 1000);
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 1950 || year > 9999) throw new DerError(`time ${epochSeconds} is out of the X.509 range`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year < 2050
    ? encodeDer(DerTag.UTC_TIME, new TextEncoder().encode(`${two(year % 100)}${rest}`))
    : encodeDer(DerTag.GENERALIZED_TIME, new TextEncoder().encode(`${year}${rest}`));
}
