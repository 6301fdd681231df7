/**
 * The contract between the upstream-auth framework (./minted-auth.ts: cache,
 * single-flight, expiry margin, error mapping) and each cloud's credential
 * source (ecr.ts, gar.ts, acr.ts, quay.ts): a source only knows how to mint.
 */
import type { UpstreamError } from "../upstream-auth.ts"; // failures: throw new UpstreamError(502|503|504, "<step> refused: <code>") — the message names the step, never a secret
export interface MintContext {
  readonly fetch: typeof fetch;
  /** Epoch ms. */
  readonly now: () => number;
  /** A fresh federation JWT for `audience`, signed by the proxy's own key (5-minute lifetime). */
  readonly federationToken: (audience: string) => Promise<string>;
  readonly timeoutMs: number;
}
export interface MintedCredential {
  /** The whole Authorization header value to send upstream ("Basic …" or "Bearer …"). */
  readonly authorization: string;
  /** Epoch ms at which it stops being valid. */
  readonly expiresAt: number;
}
export interface CredentialSource {
  /** The mode name, for logs and errors: "ecr", "gar", "acr", "quay". */
  readonly mode: string;
  /** True if the credential depends on the request's scopes (ACR's per-scope access tokens). */
  readonly perScope: boolean;
  /** Mint a credential; `scopes` are formatted Distribution scopes ("repository:a/b:pull,push"), empty when !perScope. May keep intermediate tokens (e.g. an ACR refresh token) in its own instance until they expire. */
  mint(ctx: MintContext, scopes: readonly string[]): Promise<MintedCredential>;
}

/** Keeps the type-only import above honest for readers: failures are UpstreamErrors. */
export type MintError = UpstreamError;
