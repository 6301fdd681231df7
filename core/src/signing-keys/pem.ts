/**
 * PEM (RFC 7468) ↔ DER, and standard base64 (the `x5c` header's encoding, which
 * is not base64url). Errors say which block is wrong and never quote its text:
 * these blocks are private keys.
 */
import type { Bytes } from "../der.ts";

export class PemError extends Error {
  override readonly name = "PemError";
}

export interface PemBlock {
  readonly label: string;
  readonly der: Bytes;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every PEM block in `text`, in order. Text between blocks (openssl's "Bag Attributes", comments) is ignored. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label = "", body = "", endLabel] = match;
    const n = blocks.length + 1;
    if (label !== endLabel) throw new PemError(`PEM block ${n}: BEGIN ${label} ends with END ${endLabel}`);
    if (/^\s*[\w-]+:/m.test(body)) throw new PemError(`PEM block ${n} (${label}) has headers: an encrypted key is not supported`);
    const base64 = body.replace(/\s+/g, "");
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) throw new PemError(`PEM block ${n} (${label}) is not valid base64`);
    let der: Bytes;
    try {
      der = base64Decode(base64);
    } catch {
      throw new PemError(`PEM block ${n} (${label}) is not valid base64`);
    }
    blocks.push({ label, der });
  }
  return blocks;
}

export function toPem(label: string, der: Uint8Array): string {
  const lines = base64Encode(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function base64Decode(base64: string): Bytes {
  const binary = atob(base64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
