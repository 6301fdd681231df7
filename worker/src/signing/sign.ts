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

export async function signJwt(key: SigningKey, payload: Record<string, unknown>, options: SignOptions): Promise<string> {
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({
      alg: key.alg,
      typ: options.typ,
      kid: key.kid,
      ...(options.x5c && { x5c: [base64Encode(key.certificateDer)] }),
    })
    .sign(key.privateKey);
}
