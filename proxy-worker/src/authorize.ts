/**
 * The proxy's trust decision for one request: is there a registry token, is it
 * genuine (signature first, then `iss`, `aud`, `exp`/`nbf`), and does it grant
 * every action the request needs? The caller turns the outcome into a response.
 */
import { grants, verifyRegistryToken, type RegistryTokenClaims, type ResourceScope, type TokenRejection } from "@jwt-registry-auth/protocol";
import type { JWTVerifyGetKey } from "jose";
import { KeySourceError, type VerificationKeys } from "./keys.ts";

/** Far above any registry token (a few KB with an x5c chain); anything bigger is refused unread. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type Authorization =
  | { readonly outcome: "granted"; readonly claims: RegistryTokenClaims; readonly token: string }
  | { readonly outcome: "missing" }
  | { readonly outcome: "invalid"; readonly reason: TokenRejection | "too_large"; readonly detail: string; readonly token: string }
  | { readonly outcome: "insufficient"; readonly claims: RegistryTokenClaims; readonly token: string };

/** The bearer token of an `Authorization` header; other schemes (Basic) count as no token. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

export interface AuthorizeOptions {
  readonly issuer: string;
  readonly service: string;
  readonly keys: VerificationKeys;
  /** Seconds since the epoch; defaults to now. */
  readonly currentTime?: number;
}

export async function authorize(authorizationHeader: string | null, scopes: readonly ResourceScope[], options: AuthorizeOptions): Promise<Authorization> {
  const token = bearerToken(authorizationHeader);
  if (token === undefined) return { outcome: "missing" };
  if (token.length > MAX_TOKEN_LENGTH) return { outcome: "invalid", reason: "too_large", detail: "token is too large", token };
  // Throws KeySourceError when no keys can be had: that is a 503, not the token's fault.
  await options.keys.ready();
  // verifyRegistryToken reads any getKey failure as a bad token; keys that can't be had are not, so rethrow that.
  let unavailable: KeySourceError | undefined;
  const getKey: JWTVerifyGetKey = async (header, input) => {
    try {
      return await options.keys.getKey(header, input);
    } catch (error) {
      if (error instanceof KeySourceError) unavailable = error;
      throw error;
    }
  };
  const verified = await verifyRegistryToken(token, getKey, {
    issuer: options.issuer,
    audience: options.service,
    ...(options.currentTime !== undefined && { currentTime: options.currentTime }),
  });
  if (unavailable !== undefined) throw unavailable;
  if (!verified.ok) return { outcome: "invalid", reason: verified.reason, detail: verified.detail, token };
  const { access } = verified.value;
  const allGranted = scopes.every((scope) => scope.actions.every((action) => grants(access, scope, action)));
  return allGranted ? { outcome: "granted", claims: verified.value, token } : { outcome: "insufficient", claims: verified.value, token };
}
