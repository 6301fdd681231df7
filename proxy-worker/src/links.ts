/**
 * The `Location` and `Link` URLs the proxy gives clients. One that points at
 * the upstream is rewritten to point at the proxy: clients must send their next
 * request (the upload PATCH/PUT with its `_state`, the next tags page) through
 * the proxy, never straight to the upstream. The proxy's own address comes from
 * its settings (PUBLIC_URL), never from the request: unset, rewritten URLs are
 * root-relative, and the client resolves them against the URL it used.
 * Any other `Location` (an object-store redirect) goes to the client only when
 * it is absolute https to a public host (see {@link foreignLocation}).
 */
import { isInternalHost } from "./addresses.ts";

/** Where the upstream lives: origin plus an optional base path (no trailing slash). */
export interface UpstreamBase {
  readonly origin: string;
  readonly pathname: string;
}

/** The proxy's public origin (PUBLIC_URL), or `undefined` for root-relative URLs. */
export type PublicOrigin = string | undefined;

function resolve(value: string, base: URL): URL | undefined {
  try {
    return new URL(value, base);
  } catch {
    return undefined;
  }
}

/**
 * `value` resolved against the upstream request URL: if it lands under the
 * upstream base (or on the proxy's public origin, where an upstream that honours
 * `X-Forwarded-*` points), the same path (minus the base) and query on the
 * proxy; otherwise `undefined`.
 */
export function proxyUrlFor(value: string, requestUrl: URL, upstream: UpstreamBase, publicOrigin: PublicOrigin): string | undefined {
  const resolved = resolve(value, requestUrl);
  if (resolved === undefined) return undefined;
  const rest = `${resolved.search}${resolved.hash}`;
  if (publicOrigin !== undefined && resolved.origin === publicOrigin) return `${publicOrigin}${resolved.pathname}${rest}`;
  const base = upstream.pathname === "/" ? "" : upstream.pathname;
  if (resolved.origin !== upstream.origin || !resolved.pathname.startsWith(`${base}/`)) return undefined;
  // A relative value that already means the same path on the proxy stays as sent.
  if (base === "" && !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(value)) return value;
  return `${publicOrigin ?? ""}${resolved.pathname.slice(base.length)}${rest}`;
}

/**
 * A `Location` that does not point at the upstream, as the client may have it:
 * absolute (a scheme-relative `//host/…` is resolved against the upstream),
 * https, without credentials, and not on an internal host unless that host is
 * the upstream's own. `allowInsecure` lifts the https and internal-host rules
 * (local object stores in development). `undefined`: not to be passed on.
 */
export function foreignLocation(value: string, requestUrl: URL, upstream: URL, allowInsecure: boolean): string | undefined {
  const resolved = resolve(value, requestUrl);
  if (resolved === undefined || resolved.username !== "" || resolved.password !== "") return undefined;
  if (resolved.protocol !== "https:" && !(allowInsecure && resolved.protocol === "http:")) return undefined;
  if (!allowInsecure && resolved.hostname !== upstream.hostname && isInternalHost(resolved.hostname)) return undefined;
  return resolved.href;
}

/** `Link: <url>; rel="next", <url2>; rel="…"`: each bracketed upstream URL is rewritten, others kept. */
export function rewriteLink(value: string, requestUrl: URL, upstream: UpstreamBase, publicOrigin: PublicOrigin): string {
  return value.replace(/<([^>]*)>/g, (_, url: string) => `<${proxyUrlFor(url, requestUrl, upstream, publicOrigin) ?? url}>`);
}
