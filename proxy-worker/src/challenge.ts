/**
 * The proxy's 401s, as Distribution sends them: a `Bearer` challenge naming the
 * realm, service and the scopes the request needs, with `error="invalid_token"`
 * or `error="insufficient_scope"` when a token was sent, and a Distribution
 * error body. Bodies name the reason as a stable code (`detail.reason`) and,
 * when the request needs any, the access (`detail.access`); never the token,
 * nor the verifier's words about it (those go to the log line).
 */
import { errorResponse, formatBearerChallenge, formatScope, type BearerChallenge, type ResourceScope } from "@jwt-registry-auth/protocol";
import type { Authorization } from "./authorize.ts";

export interface ChallengeSettings {
  readonly realm: string;
  readonly service: string;
}

/** Distribution sets this on every response; docker's registry ping looks for it. */
export const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" } as const;

export function challengeHeader(settings: ChallengeSettings, scopes: readonly ResourceScope[], error?: BearerChallenge["error"]): string {
  const scope = scopes.map(formatScope).join(" ");
  return formatBearerChallenge({ realm: settings.realm, service: settings.service, ...(scope !== "" && { scope }), ...(error && { error }) });
}

export function challengeResponse(settings: ChallengeSettings, scopes: readonly ResourceScope[], authorization: Exclude<Authorization, { outcome: "granted" }>, requestId?: string): Response {
  const headers = (error?: BearerChallenge["error"]) => ({ ...API_VERSION_HEADER, "WWW-Authenticate": challengeHeader(settings, scopes, error) });
  const access = scopes.map((s) => ({ type: s.type, name: s.name, actions: s.actions }));
  const withAccess = access.length > 0 ? { access } : {};
  switch (authorization.outcome) {
    case "missing":
      return errorResponse(401, "UNAUTHORIZED", "authentication required", { headers: headers(), detail: { reason: "no_credentials", ...withAccess }, requestId });
    case "invalid":
      return errorResponse(401, "UNAUTHORIZED", "invalid registry token", { headers: headers("invalid_token"), detail: { reason: authorization.reason }, requestId });
    case "insufficient":
      return errorResponse(401, "UNAUTHORIZED", "the registry token does not grant the access this request needs", { headers: headers("insufficient_scope"), detail: { reason: "insufficient_scope", ...withAccess }, requestId });
  }
}
