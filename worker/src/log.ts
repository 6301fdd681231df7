/**
 * One JSON log line per token request. It names who asked for what and what was
 * decided; credentials appear only as their SHA-256, never themselves.
 */

export interface TokenRequestLog {
  readonly status: number;
  readonly grant: "password" | "refresh_token" | "none";
  readonly provider?: string;
  readonly subject?: string;
  readonly service?: string;
  readonly clientId?: string;
  readonly granted?: readonly string[];
  readonly refused?: readonly string[];
  /** Why the request failed, or which conditions refused scopes. */
  readonly reason?: string;
  readonly tokenSha256?: string;
  readonly refreshIssued?: boolean;
  readonly durationMs?: number;
}

export function logTokenRequest(entry: TokenRequestLog): void {
  console.log(JSON.stringify({ event: "token_request", time: new Date().toISOString(), ...entry }));
}
