/**
 * The proxy's own credentials towards the upstream registry: none, Basic, or the
 * upstream's bearer-token dance (its challenge → its realm, with the upstream
 * credentials → a token for the scope). The scheme is learnt once from the
 * upstream's `/v2/` answer and kept in isolate memory, so a request carrying a
 * blob is authenticated before it is sent: a streamed body cannot be sent twice.
 * Upstream tokens are cached per scope until shortly before they expire.
 */
import { formatScope, parseBearerChallenge, parseWwwAuthenticate, type ResourceScope } from "@jwt-registry-auth/protocol";
import { upstreamApiUrl, type UpstreamCredentials } from "./settings.ts";

export type UpstreamScheme = { readonly kind: "none" } | { readonly kind: "basic" } | { readonly kind: "bearer"; readonly realm: string; readonly service?: string };

/** The upstream could not be used: unreachable, failing, or refusing the proxy's credentials. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly status: 502 | 503 | 504,
    message: string,
    readonly upstreamStatus?: number,
  ) {
    super(message);
  }
}

/** What `forward` asks for upstream credentials: the learnt-scheme {@link UpstreamAuth}, or a minted cloud credential (upstream/minted-auth.ts). */
export interface UpstreamAuthorizer {
  /** The `Authorization` value to send upstream for a request needing `scopes`, if any; obtained before anything is sent. */
  authorizationFor(scopes: readonly ResourceScope[]): Promise<string | undefined>;
  /** After an upstream 401: forget what was used, and return credentials to retry a replayable request with (`undefined`: don't). */
  afterUnauthorized(challenge: string | null, usedScopes: readonly ResourceScope[]): Promise<string | undefined>;
}

export interface UpstreamAuthOptions {
  readonly upstream: URL;
  readonly credentials?: UpstreamCredentials;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  /** How long a learnt scheme is trusted before `/v2/` is asked again (ms). */
  readonly schemeMaxAgeMs: number;
  readonly timeoutMs: number;
  /** Send the credentials to an http realm on another origin than the upstream's (local dev only). */
  readonly allowInsecureRealm: boolean;
}

/** Registry token responses without `expires_in` last 60 s (Distribution's token spec). */
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_CACHED_TOKENS = 1000;

function basic(credentials: UpstreamCredentials): string {
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** Renewal margin: a quarter of the lifetime, at most 30 s, so a token is never used at its very end. */
function marginMs(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 4);
}

export class UpstreamAuth implements UpstreamAuthorizer {
  private scheme: { value: UpstreamScheme; learntAt: number } | undefined;
  private schemeInflight: Promise<UpstreamScheme> | undefined;
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();
  private readonly tokenInflight = new Map<string, Promise<string>>();

  constructor(private readonly options: UpstreamAuthOptions) {}

  /** The `Authorization` value to send upstream for a request needing `scopes`, if any. */
  async authorizationFor(scopes: readonly ResourceScope[]): Promise<string | undefined> {
    const scheme = await this.currentScheme();
    switch (scheme.kind) {
      case "none":
        return undefined;
      case "basic":
        if (!this.options.credentials) throw new UpstreamError(502, "the upstream registry wants Basic credentials and none are configured");
        return basic(this.options.credentials);
      case "bearer":
        return `Bearer ${await this.bearerToken(scheme, scopes.map(formatScope))}`;
    }
  }

  /**
   * After an upstream 401 despite our credentials: forget what was learnt and,
   * for a request that can be replayed, return the credentials to retry with
   * (for the scope the upstream's challenge names). `undefined`: don't retry.
   */
  async afterUnauthorized(challenge: string | null, usedScopes: readonly ResourceScope[]): Promise<string | undefined> {
    this.scheme = undefined;
    for (const key of usedScopes.map(formatScope)) this.tokens.delete(key);
    const bearer = challenge === null ? undefined : parseBearerChallenge(challenge);
    if (bearer) {
      this.scheme = { value: { kind: "bearer", realm: bearer.realm, ...(bearer.service !== undefined && { service: bearer.service }) }, learntAt: this.options.now() };
      const scopes = (bearer.scope ?? "").split(" ").filter((s) => s !== "");
      return `Bearer ${await this.bearerToken(this.scheme.value as Extract<UpstreamScheme, { kind: "bearer" }>, scopes)}`;
    }
    const isBasic = challenge !== null && parseWwwAuthenticate(challenge).some((c) => c.scheme.toLowerCase() === "basic");
    if (isBasic && this.options.credentials) {
      this.scheme = { value: { kind: "basic" }, learntAt: this.options.now() };
      return basic(this.options.credentials);
    }
    return undefined;
  }

  private async currentScheme(): Promise<UpstreamScheme> {
    if (this.scheme && this.options.now() - this.scheme.learntAt < this.options.schemeMaxAgeMs) return this.scheme.value;
    this.schemeInflight ??= this.learnScheme().finally(() => {
      this.schemeInflight = undefined;
    });
    return this.schemeInflight;
  }

  private async learnScheme(): Promise<UpstreamScheme> {
    const response = await this.send(upstreamApiUrl(this.options.upstream, "/v2/"), {});
    await response.body?.cancel();
    let value: UpstreamScheme;
    if (response.status === 401) {
      const header = response.headers.get("WWW-Authenticate") ?? "";
      const bearer = parseBearerChallenge(header);
      if (bearer) value = { kind: "bearer", realm: bearer.realm, ...(bearer.service !== undefined && { service: bearer.service }) };
      else if (parseWwwAuthenticate(header).some((c) => c.scheme.toLowerCase() === "basic")) value = { kind: "basic" };
      else throw new UpstreamError(502, "the upstream registry asks for an authentication scheme the proxy does not speak", 401);
    } else if (response.ok) {
      value = { kind: "none" };
    } else {
      throw statusError(response.status);
    }
    this.scheme = { value, learntAt: this.options.now() };
    return value;
  }

  private async bearerToken(scheme: Extract<UpstreamScheme, { kind: "bearer" }>, scopes: readonly string[]): Promise<string> {
    const key = `${scheme.realm}\u0000${scheme.service ?? ""}\u0000${scopes.join(" ")}`;
    const cached = this.tokens.get(key);
    if (cached && this.options.now() < cached.renewAt) return cached.token;
    let inflight = this.tokenInflight.get(key);
    if (!inflight) {
      inflight = this.fetchToken(scheme, scopes, key).finally(() => this.tokenInflight.delete(key));
      this.tokenInflight.set(key, inflight);
    }
    return inflight;
  }

  private async fetchToken(scheme: Extract<UpstreamScheme, { kind: "bearer" }>, scopes: readonly string[], key: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(scheme.realm);
    } catch {
      throw new UpstreamError(502, "the upstream registry's token realm is not a URL");
    }
    // The realm is whatever the upstream's challenge names: the credentials go only where they can't be read on the way.
    const sameOrigin = url.origin === this.options.upstream.origin;
    const insecureAllowed = this.options.allowInsecureRealm && url.protocol === "http:";
    if (url.protocol !== "https:" && !sameOrigin && !insecureAllowed) {
      throw new UpstreamError(502, "the upstream registry's token realm is neither https nor on the upstream's own origin; the proxy sends no credentials there");
    }
    if (scheme.service !== undefined) url.searchParams.set("service", scheme.service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.options.credentials) headers["Authorization"] = basic(this.options.credentials);
    // Not followed: a redirect could take the credentials to a place the check above never saw.
    const response = await this.send(url, headers, "manual");
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new UpstreamError(502, "the upstream registry's token realm redirected; the proxy does not follow it with credentials", response.status);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new UpstreamError(502, "the upstream registry's token service refused the proxy's credentials", response.status);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw statusError(response.status);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = await response.json();
    } catch {
      throw new UpstreamError(502, "the upstream registry's token service sent no JSON");
    }
    const token = typeof body.token === "string" && body.token !== "" ? body.token : body.access_token;
    if (typeof token !== "string" || token === "") throw new UpstreamError(502, "the upstream registry's token service sent no token");
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const lifetimeMs = seconds * 1000;
    if (this.tokens.size >= MAX_CACHED_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    this.tokens.set(key, { token, renewAt: this.options.now() + lifetimeMs - marginMs(lifetimeMs) });
    return token;
  }

  private async send(url: URL, headers: Record<string, string>, redirect: "follow" | "manual" = "follow"): Promise<Response> {
    try {
      return await this.options.fetch(url, { headers, redirect, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") throw new UpstreamError(504, "the upstream registry did not answer in time");
      throw new UpstreamError(502, "the upstream registry could not be reached");
    }
  }
}

export function statusError(status: number): UpstreamError {
  return status === 503 || status === 429
    ? new UpstreamError(503, "the upstream registry is unavailable", status)
    : new UpstreamError(502, `the upstream registry failed (HTTP ${status})`, status);
}

const instances = new Map<string, UpstreamAuth>();

/** The isolate-wide upstream auth state for one upstream and set of credentials. */
export function upstreamAuth(upstream: URL, credentials: UpstreamCredentials | undefined, allowInsecureRealm: boolean): UpstreamAuth {
  const key = JSON.stringify([upstream.href, credentials?.username ?? "", credentials?.password ?? "", allowInsecureRealm]);
  let auth = instances.get(key);
  if (!auth) {
    auth = new UpstreamAuth({
      upstream,
      ...(credentials && { credentials }),
      fetch: (input, init) => fetch(input, init),
      now: () => Date.now(),
      schemeMaxAgeMs: 10 * 60_000,
      timeoutMs: 10_000,
      allowInsecureRealm,
    });
    instances.set(key, auth);
  }
  return auth;
}
