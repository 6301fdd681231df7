/**
 * Rewrites `Location` and `Link` headers that point at the upstream so they
 * point at the proxy instead: clients must send their next request (the upload
 * PATCH/PUT with its `_state`, the next tags page) through the proxy, never
 * straight to the upstream. URLs elsewhere (object-store redirects) are left
 * alone, so the client follows them directly.
 */

/** Where the upstream lives: origin plus an optional base path (no trailing slash). */
export interface UpstreamBase {
  readonly origin: string;
  readonly pathname: string;
}

/**
 * `value` is resolved against the upstream request URL. If it lands under the
 * upstream base, the same path (minus the base) and query on the proxy are
 * returned; otherwise `value` unchanged.
 */
export function rewriteUrl(value: string, requestUrl: URL, upstream: UpstreamBase, proxyOrigin: string): string {
  let resolved: URL;
  try {
    resolved = new URL(value, requestUrl);
  } catch {
    return value;
  }
  const base = upstream.pathname === "/" ? "" : upstream.pathname;
  if (resolved.origin !== upstream.origin || !resolved.pathname.startsWith(`${base}/`)) return value;
  // A relative value that already means the same path on the proxy stays as sent.
  if (base === "" && !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(value)) return value;
  return `${proxyOrigin}${resolved.pathname.slice(base.length)}${resolved.search}${resolved.hash}`;
}

/** `Link: <url>; rel="next", <url2>; rel="…"`: each bracketed URL is rewritten. */
export function rewriteLink(value: string, requestUrl: URL, upstream: UpstreamBase, proxyOrigin: string): string {
  return value.replace(/<([^>]*)>/g, (_, url: string) => `<${rewriteUrl(url, requestUrl, upstream, proxyOrigin)}>`);
}
