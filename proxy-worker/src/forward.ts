/**
 * Sends an authorised request to the upstream and shapes its answer for the
 * client. Bodies stream both ways (a blob never sits in the Worker's memory);
 * only an allowlist of request headers goes upstream, so the client's registry
 * token (and anything else it sends) never reaches the upstream registry.
 */
import { errorResponse, type ResourceScope } from "@jwt-registry-auth/protocol";
import { API_VERSION_HEADER } from "./challenge.ts";
import { upstreamApiUrl } from "./settings.ts";
import { foreignLocation, proxyUrlFor, rewriteLink, type PublicOrigin, type UpstreamBase } from "./links.ts";
import { statusError, UpstreamError, type UpstreamAuthorizer } from "./upstream-auth.ts";

/** Request headers the registry API uses; everything else the client sends stays with the proxy. */
const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "content-type",
  "content-length",
  "content-range",
  "range",
  "if-range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "docker-content-digest",
  "oci-chunk-min-length",
  "user-agent",
];

/** Response headers that describe the proxy's own connection or authentication, not the resource. */
const DROPPED_RESPONSE_HEADERS = ["connection", "keep-alive", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "set-cookie", "www-authenticate"];

/**
 * Upper bound on an upstream response's headers (names, values, and 4 bytes of
 * separators each). A registry's are well under 2 KiB; Go's client refuses more
 * than 1 MiB, nginx's default proxy buffer is 4–8 KiB. Past it the upstream is
 * broken or hostile, and the client gets a 502 rather than the headers.
 */
export const MAX_UPSTREAM_HEADER_BYTES = 16 * 1024;

const BODYLESS_METHODS = ["GET", "HEAD", "DELETE"];

export interface ForwardOptions {
  readonly upstream: URL;
  readonly auth: UpstreamAuthorizer;
  /** Scopes the request needs; the upstream is asked for the same ones. */
  readonly scopes: readonly ResourceScope[];
  /** Path and query to request upstream (as validated), relative to the upstream base. */
  readonly upstreamPath: string;
  /** PUBLIC_URL: where clients reach the proxy; unset, rewritten URLs are root-relative. */
  readonly publicUrl?: URL;
  /** Pass `Location`s to http or internal hosts on to the client. */
  readonly allowInsecureRedirects: boolean;
  readonly fetch: typeof fetch;
  /** This request's id, for the body of an error the proxy answers itself. */
  readonly requestId?: string;
}

export interface Forwarded {
  readonly response: Response;
  readonly upstreamStatus?: number;
  /** Why the upstream could not be used (an {@link UpstreamError}'s message: names the step, never a secret), for the log line. */
  readonly failure?: string;
}

/**
 * `X-Forwarded-Host/Proto` tell a registry that builds absolute URLs (Distribution)
 * which address to build them on: the proxy's PUBLIC_URL, or else the upstream's
 * own, whose URLs are then rewritten. Never the request's `Host`.
 */
function upstreamHeaders(request: Request, addressedAs: URL): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set("X-Forwarded-Host", addressedAs.host);
  headers.set("X-Forwarded-Proto", addressedAs.protocol.slice(0, -1));
  return headers;
}

function headerBytes(headers: Headers): number {
  let total = 0;
  for (const [name, value] of headers) total += name.length + value.length + 4;
  return total;
}

function clientHeaders(upstream: Response, requestUrl: URL, options: ForwardOptions): Headers {
  if (headerBytes(upstream.headers) > MAX_UPSTREAM_HEADER_BYTES) throw new UpstreamError(502, "the upstream registry's response headers are too large");
  const base: UpstreamBase = { origin: options.upstream.origin, pathname: options.upstream.pathname };
  const publicOrigin: PublicOrigin = options.publicUrl?.origin;
  const headers = new Headers(upstream.headers);
  for (const name of DROPPED_RESPONSE_HEADERS) headers.delete(name);
  const location = headers.get("Location");
  if (location !== null) {
    const target = proxyUrlFor(location, requestUrl, base, publicOrigin) ?? foreignLocation(location, requestUrl, options.upstream, options.allowInsecureRedirects);
    if (target === undefined) throw new UpstreamError(502, "the upstream registry sent a Location the proxy does not pass on: only absolute https URLs to public hosts");
    headers.set("Location", target);
  }
  const link = headers.get("Link");
  if (link !== null) headers.set("Link", rewriteLink(link, requestUrl, base, publicOrigin));
  return headers;
}

export function upstreamErrorResponse(error: UpstreamError, requestId?: string): Response {
  const code = error.status === 502 ? "UNKNOWN" : "UNAVAILABLE";
  return errorResponse(error.status, code, error.message, {
    headers: API_VERSION_HEADER,
    detail: { reason: "upstream_failed", ...(error.upstreamStatus !== undefined && { upstreamStatus: error.upstreamStatus }) },
    ...(requestId !== undefined && { requestId }),
  });
}

export async function forward(request: Request, options: ForwardOptions): Promise<Forwarded> {
  const target = upstreamApiUrl(options.upstream, options.upstreamPath);
  const headers = upstreamHeaders(request, options.publicUrl ?? options.upstream);
  const hasBody = !BODYLESS_METHODS.includes(request.method) && request.body !== null;

  const send = async (authorization: string | undefined): Promise<Response> => {
    if (authorization === undefined) headers.delete("Authorization");
    else headers.set("Authorization", authorization);
    try {
      return await options.fetch(target, {
        method: request.method,
        headers,
        body: hasBody ? request.body : null,
        // Object-store redirects for blobs go to the client, which fetches them itself.
        redirect: "manual",
      });
    } catch {
      throw new UpstreamError(502, "the upstream registry could not be reached");
    }
  };

  try {
    let upstream = await send(await options.auth.authorizationFor(options.scopes));
    if (upstream.status === 401) {
      const challenge = upstream.headers.get("WWW-Authenticate");
      await upstream.body?.cancel();
      // A streamed body is gone once sent: only bodyless requests can be replayed with fresh credentials.
      const retry = await options.auth.afterUnauthorized(challenge, options.scopes);
      if (hasBody || retry === undefined) throw new UpstreamError(502, "the upstream registry refused the proxy's credentials", 401);
      upstream = await send(retry);
      if (upstream.status === 401) {
        await upstream.body?.cancel();
        throw new UpstreamError(502, "the upstream registry refused the proxy's credentials", 401);
      }
    }
    if (upstream.status >= 500) {
      await upstream.body?.cancel();
      throw statusError(upstream.status);
    }
    let responseHeaders: Headers;
    try {
      responseHeaders = clientHeaders(upstream, target, options);
    } catch (error) {
      await upstream.body?.cancel();
      throw error;
    }
    const body = request.method === "HEAD" || upstream.status === 204 || upstream.status === 304 ? null : upstream.body;
    const response = new Response(body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
    return { response, upstreamStatus: upstream.status };
  } catch (error) {
    if (error instanceof UpstreamError) return { response: upstreamErrorResponse(error, options.requestId), failure: error.message, ...(error.upstreamStatus !== undefined && { upstreamStatus: error.upstreamStatus }) };
    throw error;
  }
}
