/**
 * One JSON log line per proxied request: who (token subject, token SHA-256),
 * what (method, endpoint, repository), and what happened. Never a token.
 */

export interface ProxyRequestLog {
  /** One per request, also in the response's `X-Request-Id` header and in every error body's `detail.requestId`. */
  readonly requestId: string;
  readonly method: string;
  readonly endpoint?: string;
  readonly repository?: string;
  /** The `from` of a cross-repository mount: the repository read from. */
  readonly mountFrom?: string;
  readonly status: number;
  readonly upstreamStatus?: number;
  readonly subject?: string;
  readonly tokenSha256?: string;
  /** Why the request was refused or failed. */
  readonly reason?: string;
  readonly durationMs: number;
}

export function logProxyRequest(entry: ProxyRequestLog): void {
  console.log(JSON.stringify({ event: "proxy_request", time: new Date().toISOString(), ...entry }));
}
