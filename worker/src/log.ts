/**
 * One JSON log line per token request. It names who asked for what and what was
 * decided; credentials appear only as their SHA-256, never themselves.
 */

import { TOKEN_REQUEST_EVENT, type TokenRequestLine, type TokenRequestLog } from "@jwt-registry-auth/core/policy/token-request-log";

export type { TokenRequestLog } from "@jwt-registry-auth/core/policy/token-request-log";

export function logTokenRequest(entry: TokenRequestLog): void {
  const line: TokenRequestLine = { event: TOKEN_REQUEST_EVENT, time: new Date().toISOString(), ...entry };
  console.log(JSON.stringify(line));
}
