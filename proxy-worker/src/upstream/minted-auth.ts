/**
 * The framework around a {@link CredentialSource}: credentials cached in isolate
 * memory per scope key (one key when the source is not per-scope) until shortly
 * before they expire, concurrent misses sharing one mint, failures mapped to
 * {@link UpstreamError}s naming the step. `forward` asks for the credential
 * before it sends anything, so a mint never runs after a streamed body's
 * headers went out.
 */
import { formatScope, SettingError, type ResourceScope } from "@jwt-registry-auth/protocol";
import { UpstreamError, type UpstreamAuthorizer } from "../upstream-auth.ts";
import type { CredentialSource, MintContext } from "./credential-source.ts";
import type { FederationIssuer } from "./federation.ts";

/** Renew this long before expiry: a quarter of the lifetime, at most 5 minutes (ECR's 12 h → 5 min). */
export function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.max(0, lifetimeMs) / 4);
}

const MAX_CACHED = 1000;

export class MintedAuth implements UpstreamAuthorizer {
  private readonly cache = new Map<string, { authorization: string; renewAt: number }>();
  private readonly inflight = new Map<string, Promise<string>>();
  /** How many mints ran (for tests and the bench). */
  mints = 0;

  constructor(
    readonly source: CredentialSource,
    private readonly ctx: MintContext,
  ) {}

  private key(scopes: readonly string[]): string {
    return this.source.perScope ? scopes.join(" ") : "";
  }

  async authorizationFor(scopes: readonly ResourceScope[]): Promise<string> {
    const formatted = this.source.perScope ? scopes.map(formatScope) : [];
    const key = this.key(formatted);
    const cached = this.cache.get(key);
    if (cached && this.ctx.now() < cached.renewAt) return cached.authorization;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.mint(key, formatted).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** The upstream refused a minted credential: forget it and mint once more for a replayable request. */
  async afterUnauthorized(_challenge: string | null, usedScopes: readonly ResourceScope[]): Promise<string> {
    this.cache.delete(this.key(this.source.perScope ? usedScopes.map(formatScope) : []));
    return this.authorizationFor(usedScopes);
  }

  private async mint(key: string, scopes: readonly string[]): Promise<string> {
    const started = this.ctx.now();
    let minted;
    try {
      this.mints++;
      minted = await this.source.mint(this.ctx, scopes);
    } catch (error) {
      // A setting the source found unusable is a 500 naming it; anything else unexpected is the mint failing.
      if (error instanceof UpstreamError || error instanceof SettingError) throw error;
      throw new UpstreamError(502, `${this.source.mode} credential mint failed`);
    }
    const lifetime = minted.expiresAt - started;
    if (lifetime <= 0) throw new UpstreamError(502, `${this.source.mode} credential mint returned an expired credential`);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { authorization: minted.authorization, renewAt: minted.expiresAt - renewalMarginMs(lifetime) });
    return minted.authorization;
  }
}

/** The runtime's clock and fetch, and the proxy's own issuer for federation JWTs. */
export function createMintedAuth(source: CredentialSource, issuer: FederationIssuer | undefined, timeoutMs = 10_000): MintedAuth {
  return new MintedAuth(source, {
    fetch: (input, init) => fetch(input, init),
    now: () => Date.now(),
    federationToken: async (audience) => {
      if (!issuer) throw new SettingError("FEDERATION_SIGNING_KEY", `UPSTREAM_AUTH ${source.mode} needs a federation JWT: set FEDERATION_SIGNING_KEY, FEDERATION_SUBJECT and PUBLIC_URL`);
      return issuer.token(audience, Date.now());
    },
    timeoutMs,
  });
}
