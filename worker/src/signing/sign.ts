/**
 * Signs registry tokens (and the token server's other JWTs) with a signing key.
 * The header is what Distribution 2.8 and 3.x accept:
 * `{alg, typ, kid, x5c?}` with `x5c` holding the certificate DER in standard
 * base64 (RFC 7515 4.1.6), so the registry can check it against its
 * `rootcertbundle` without knowing our `kid` scheme.
 */
import { SignJWT, type JWTPayload } from "jose";
import type { SigningKey } from "@jwt-registry-auth/core/signing-keys/signing-key-set";
import { base64Encode } from "@jwt-registry-auth/core/signing-keys/pem";

export interface SignOptions {
  readonly typ: string;
  readonly x5c: boolean;
}

type Header = Parameters<SignJWT["setProtectedHeader"]>[0];

/** Headers built once per key and options: base64-encoding the certificate on every sign cost CPU on every token (issue 12). */
const headers = new WeakMap<SigningKey, Map<string, Header>>();

function headerFor(key: SigningKey, options: SignOptions): Header {
  let byOptions = headers.get(key);
  if (byOptions === undefined) headers.set(key, (byOptions = new Map()));
  const id = `${options.typ} ${options.x5c}`;
  let header = byOptions.get(id);
  if (header === undefined) {
    header = { alg: key.alg, typ: options.typ, kid: key.kid, ...(options.x5c && { x5c: [base64Encode(key.certificateDer)] }) };
    byOptions.set(id, header);
  }
  return header;
}

export async function signJwt(key: SigningKey, payload: Record<string, unknown>, options: SignOptions): Promise<string> {
  return new SignJWT(payload as JWTPayload).setProtectedHeader(headerFor(key, options)).sign(key.privateKey);
}
