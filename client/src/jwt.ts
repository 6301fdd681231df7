/**
 * Reading a JWT's claims without verifying it — only to tell the user who the
 * token names and when it expires. Nothing here decides anything: the token
 * server verifies. Logs name a token by its SHA-256, never by its value.
 */
import { createHash } from "node:crypto";

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function isCompactJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  if (!isCompactJwt(token)) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `exp` as a Date, when the token is a JWT with an integer `exp`. */
export function expiryOf(token: string): Date | undefined {
  const exp = unverifiedClaims(token)?.["exp"];
  return typeof exp === "number" && Number.isSafeInteger(exp) ? new Date(exp * 1000) : undefined;
}
