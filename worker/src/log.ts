/**
 * One JSON log line per token request. It names who asked for what and what was
 * decided; credentials appear only as their SHA-256, never themselves.
 */

export interface TokenRequestLog {
  /** One per request, also in the response's `X-Request-Id` header (and in the error detail of an authn refusal). */
  readonly requestId: string;
  readonly status: number;
  readonly grant: "password" | "refresh_token" | "none";
  readonly provider?: string;
  readonly subject?: string;
  readonly service?: string;
  readonly clientId?: string;
  readonly granted?: readonly string[];
  readonly refused?: readonly string[];
  /**
   * Why the request failed. For an authn refusal, and for each refused scope
   * (`type:name:action: …`, joined by " | "), the explanation of the refusal:
   * which term of the condition was false, or which claim was missing or of the
   * wrong type, with its line:column in the condition (core/src/policy/explain.ts).
   */
  readonly reason?: string;
  readonly tokenSha256?: string;
  readonly refreshIssued?: boolean;
  readonly durationMs?: number;
}

export function logTokenRequest(entry: TokenRequestLog): void {
  console.log(JSON.stringify({ event: "token_request", time: new Date().toISOString(), ...entry }));
}
