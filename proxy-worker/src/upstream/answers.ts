/**
 * Reading the JSON answers of the OAuth-style token endpoints the gar, acr and
 * quay sources call: one JSON parser that never throws, the OAuth error code
 * of a refusal in each cloud's shape, and the `exp` of a token that is a JWT.
 */
import { SettingError } from "@jwt-registry-auth/protocol";

/** The answer as a JSON object, or an empty object when it is not one. */
export function jsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The error code of a refusal: Entra's first AADSTS code (`error_codes: [700016]`), OAuth's
 * `error` (RFC 6749 §5.2), Google API's `error.status`, Distribution's `errors[0].code`.
 */
export function errorCode(answer: Record<string, unknown>): string | undefined {
  const codes = answer["error_codes"];
  if (Array.isArray(codes) && typeof codes[0] === "number") return `AADSTS${codes[0]}`;
  const error = answer["error"];
  if (typeof error === "string") return error;
  if (error !== null && typeof error === "object" && typeof (error as { status?: unknown }).status === "string") return (error as { status: string }).status;
  const errors = answer["errors"];
  if (Array.isArray(errors) && typeof (errors[0] as { code?: unknown } | undefined)?.code === "string") return (errors[0] as { code: string }).code;
  return undefined;
}

/** A non-empty string member, or undefined. */
export function stringMember(answer: Record<string, unknown>, name: string): string | undefined {
  const value = answer[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** `expires_in` seconds as an epoch-ms deadline from `nowMs`, or undefined. */
export function expiresIn(answer: Record<string, unknown>, nowMs: number): number | undefined {
  const seconds = answer["expires_in"];
  const n = typeof seconds === "string" && /^\d+$/.test(seconds) ? Number(seconds) : seconds;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? nowMs + n * 1000 : undefined;
}

/**
 * The `exp` (epoch ms) of a token that is a JWT, read without verifying it: the
 * issuer verifies its own token; the proxy only needs to know when to renew.
 */
export function jwtExpiresAt(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export const FORM = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" } as const;

/** An http(s) endpoint setting (an override for tests and sovereign clouds), or the default. */
export function endpointSetting(name: string, raw: string | undefined, fallback: string): URL {
  const value = (raw ?? "").trim();
  if (value === "") return new URL(fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingError(name, `${name} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SettingError(name, `${name} must be an http(s) URL`);
  return url;
}
