/**
 * The token server's one JSON log line per token request, as a type: written
 * by worker/src/log.ts, read back by `policy replay` (cli/src/policy/replay.ts),
 * so both sides agree on its fields. Credentials appear only as their SHA-256.
 */

export const TOKEN_REQUEST_EVENT = "token_request";

export interface TokenRequestLog {
  /** One per request, also in the response's `X-Request-Id` header and in every error body's `detail.requestId`. */
  readonly requestId: string;
  /** The policy version (`policy history`) the request was decided on; absent when it failed before a provider was looked up. */
  readonly policyVersion?: number;
  /** The `jti` of the registry token issued, so a token seen at a registry can be traced to this line. */
  readonly jti?: string;
  readonly status: number;
  readonly grant: "password" | "refresh_token" | "none";
  readonly provider?: string;
  readonly subject?: string;
  readonly service?: string;
  readonly clientId?: string;
  /** Every requested scope with all its actions, in request order: `type[(class)]:name:pull,push` (protocol's formatScope). */
  readonly requested?: readonly string[];
  /**
   * Set once the policy decided (identity verified): whether the authn
   * condition allowed. With "refused" every requested scope was refused, and
   * `granted`/`refused` are absent.
   */
  readonly authn?: "allowed" | "refused";
  /**
   * The claim names the provider's authn and authz conditions read
   * (core/src/policy/claims-used.ts), computed once per compiled provider. A
   * name here but not in `claims` was absent from the token.
   */
  readonly claimsRead?: readonly string[];
  /**
   * The values of the claims in `claimsRead` that the token had — what
   * `policy replay` re-decides with. These claim values land in the log; a
   * claim no condition reads is never logged, and neither is a token.
   */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Instead of `claimsRead`/`claims`: why no claims were logged (a condition reads `claims` as a whole), so the request can't be replayed. */
  readonly claimsUnrecorded?: string;
  /** Per (scope, action) granted, `type:name:action` each. */
  readonly granted?: readonly string[];
  /** Per (scope, action) refused, `type:name:action` each. */
  readonly refused?: readonly string[];
  /**
   * Why the request failed. For an authn refusal, and for each refused scope
   * (`type:name:action: …`, joined by " | "), the explanation of the refusal:
   * which term of the condition was false, or which claim was missing or of the
   * wrong type, with its source text, its line in the applied providers file
   * and its row:column in the condition: `authz: false at line 15 (condition
   * 2:4): scope.action == "pull"` (core/src/policy/explain.ts refusalReason;
   * rows stored before sourceLines existed give the condition's `at 2:4` only).
   */
  readonly reason?: string;
  readonly tokenSha256?: string;
  readonly refreshIssued?: boolean;
  readonly durationMs?: number;
}

/** The line as printed: `{"event":"token_request","time":…, …fields}`. */
export type TokenRequestLine = { readonly event: typeof TOKEN_REQUEST_EVENT; readonly time: string } & TokenRequestLog;
