/**
 * The libtrust KeyID Distribution 2.8 looks a token's `kid` up by when the token
 * has no `x5c` (libtrust keyIDFromCryptoKey): SHA-256 of the DER
 * SubjectPublicKeyInfo, first 240 bits, RFC 4648 base32 without padding, in 12
 * groups of 4 joined by ':'.
 */
import type { Bytes } from "../der.ts";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return bits > 0 ? out + BASE32[(buffer << (5 - bits)) & 31] : out;
}

export async function libtrustKeyId(spki: Bytes): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
  // 30 bytes = 240 bits = exactly 48 base32 characters, so there is never padding.
  return (base32(digest.subarray(0, 30)).match(/.{4}/g) ?? []).join(":");
}
