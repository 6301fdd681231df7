/**
 * Keeps secrets out of test output: JWTs and Basic credentials are replaced by
 * the SHA-256 of the secret, which is enough to correlate with token-server logs.
 */
import { createHash } from "node:crypto";

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const BASIC = /\b(Basic\s+)([A-Za-z0-9+/=]{8,})/g;
const JSON_SECRET = /("(?:auth|identitytoken|password|refresh_token|token|access_token)"\s*:\s*")([^"]+)(")/gi;

export function redactSecrets(text: string): string {
  return text
    .replace(JSON_SECRET, (_m, pre: string, secret: string, post: string) => `${pre}<sha256:${sha256Hex(secret).slice(0, 12)}>${post}`)
    .replace(JWT, (jwt) => `<jwt sha256:${sha256Hex(jwt).slice(0, 12)}>`)
    .replace(BASIC, (_m, pre: string, secret: string) => `${pre}<sha256:${sha256Hex(secret).slice(0, 12)}>`);
}
