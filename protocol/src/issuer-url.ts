/**
 * Which URLs the token server will fetch issuer metadata and keys from. One rule
 * for the issuer, its discovery document and its `jwks_uri`: a key fetched over
 * plain http could be swapped by anyone on the path, so only `https:` is allowed,
 * except `http:` to this machine's loopback when ALLOW_HTTP_LOOPBACK_ISSUERS is
 * on (local development and tests).
 */

import type { Result } from "./result.ts";

export type IssuerUrlCheck = Result<URL>;

/**
 * Loopback as the WHATWG URL parser leaves a hostname: IPv4 is already
 * normalised to dotted decimal (`127.1` and `0x7f.0.0.1` become `127.0.0.1`), so
 * an anchored pattern is enough; `127.0.0.1.example.com` stays a domain name.
 */
export function isLoopbackHostname(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export function checkIssuerUrl(raw: string, allowHttpLoopback: boolean): IssuerUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, detail: "not an absolute URL" };
  }
  // `https://host/#` parses to an empty `hash`, so look at the raw text as well.
  if (url.hash !== "" || raw.includes("#")) return { ok: false, detail: "URL has a fragment" };
  if (url.username !== "" || url.password !== "") return { ok: false, detail: "URL has userinfo" };
  if (url.protocol === "https:") return { ok: true, value: url };
  if (url.protocol !== "http:") return { ok: false, detail: "URL scheme is not https" };
  if (!isLoopbackHostname(url.hostname)) return { ok: false, detail: "http is only allowed to a loopback host" };
  if (!allowHttpLoopback) return { ok: false, detail: "http loopback issuers are disabled (ALLOW_HTTP_LOOPBACK_ISSUERS)" };
  return { ok: true, value: url };
}
