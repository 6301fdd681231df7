/**
 * `get`: the credential for one registry. From the cache while its refresh
 * token is fresh (no network at all); else mint: read the workload token, trade
 * it at the token server (found from the registry's challenge unless
 * configured) for a refresh token, cache it. Docker's answer is
 * `{"ServerURL", "Username": "<token>", "Secret": <refresh token>}`: an
 * identity token, which docker, buildx and skopeo trade for registry tokens.
 */
import { readChallenge } from "./client/challenge.ts";
import type { Env } from "./client/env.ts";
import type { Fetch, RetryOptions } from "./client/http.ts";
import { expiryOf, unverifiedClaims } from "./client/jwt.ts";
import { parseRegistryAddress } from "./client/registry-address.ts";
import { fetchRefreshToken, resolveTokenEndpoint, type TokenEndpoint } from "./client/token-server.ts";
import { cacheDir, cachePath, isFresh, readCache, writeCache, type CachedLogin } from "./cache.ts";
import type { HelperConfig, RegistryConfig } from "./config.ts";
import { describeTokenSource, detectTokenSource, readWorkloadToken } from "./token-source.ts";

/** How the helper names itself to the token server, for its audit log. */
export const HELPER_CLIENT_ID = "docker-credential-jwt-registry-auth";

/** docker's marker for "Secret is an identity token". */
export const IDENTITY_TOKEN_USERNAME = "<token>";

export interface DockerCredential {
  readonly ServerURL: string;
  readonly Username: string;
  readonly Secret: string;
}

export class HelperError extends Error {
  override readonly name = "HelperError";
}

export interface GetDeps {
  readonly env: Env;
  readonly home?: string;
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
  /** Seconds since the epoch. */
  readonly now?: () => number;
}

/** The registry host a server URL names: docker passes `host`, `https://host`, or `https://host/v1/`. */
export function registryHostOf(serverUrl: string): string {
  return parseRegistryAddress(serverUrl.trim()).host;
}

async function endpointFor(host: string, registry: RegistryConfig, deps: GetDeps): Promise<TokenEndpoint> {
  const address = parseRegistryAddress(host);
  const overrides = { ...(registry.tokenServer && { tokenServer: registry.tokenServer }), ...(registry.service !== undefined && { service: registry.service }) };
  // Both configured: nothing to ask the registry.
  const challenge = registry.tokenServer && registry.service !== undefined ? ({ kind: "unreadable", reason: "not asked" } as const) : await readChallenge(address, deps.fetch, deps.retry);
  const resolution = resolveTokenEndpoint(address, challenge, overrides);
  if (!resolution.found) throw new HelperError(`no token server for ${host}: ${resolution.reason}; set "tokenServer" (and "service") for it in the helper config`);
  return resolution.endpoint;
}

/** Mints a refresh token for the registry and caches it. */
export async function mint(host: string, registry: RegistryConfig, path: string, deps: GetDeps): Promise<CachedLogin> {
  const endpoint = await endpointFor(host, registry, deps);
  const source = registry.token ?? detectTokenSource(deps.env, endpoint.service);
  if (source === undefined) {
    throw new HelperError(`no token source for ${host}: set "token" ({"file": …}, {"env": …}, {"command": […]} or {"github": {}}) in the helper config; no GitHub Actions, CircleCI or Buildkite environment was detected`);
  }
  const audienceDefaulted = source.kind === "github" && source.audience === undefined ? { ...source, audience: endpoint.service } : source;
  const jwt = await readWorkloadToken(audienceDefaulted, deps.env, deps.fetch, deps.retry);
  const grant = await fetchRefreshToken(endpoint, registry.provider, jwt, { clientId: HELPER_CLIENT_ID, ...(deps.fetch && { fetch: deps.fetch }), ...(deps.retry && { retry: deps.retry }) });
  if (grant.refreshToken === undefined) {
    throw new HelperError(`the token server gave no refresh token for provider "${registry.provider}" (token from ${describeTokenSource(source)}): turn on its refresh tokens`);
  }
  const now = (deps.now ?? (() => Math.floor(Date.now() / 1000)))();
  const expiresAt = expiryOf(grant.refreshToken);
  const iat = unverifiedClaims(grant.refreshToken)?.["iat"];
  // The token server's refresh tokens are JWTs; without `exp` it could not be renewed in time, so it is not cached.
  if (expiresAt === undefined) throw new HelperError("the token server's refresh token has no expiry (exp)");
  const entry: CachedLogin = {
    refreshToken: grant.refreshToken,
    issuedAt: typeof iat === "number" && Number.isSafeInteger(iat) ? iat : now,
    expiresAt: Math.floor(expiresAt.getTime() / 1000),
    service: endpoint.service,
  };
  writeCache(path, entry);
  return entry;
}

export function registryConfigFor(config: HelperConfig, host: string): RegistryConfig {
  const registry = config.registries.get(host);
  if (registry === undefined) {
    const known = [...config.registries.keys()];
    throw new HelperError(`credentials not found for ${host}: it is not in the helper config (${known.length === 0 ? "no registries configured" : `configured: ${known.join(", ")}`})`);
  }
  return registry;
}

export async function getCredential(serverUrl: string, config: HelperConfig, deps: GetDeps): Promise<DockerCredential> {
  const host = registryHostOf(serverUrl);
  const registry = registryConfigFor(config, host);
  const path = cachePath(cacheDir(deps.env, deps.home, config.cacheDir), host, registry.provider);
  const now = (deps.now ?? (() => Math.floor(Date.now() / 1000)))();
  const cached = readCache(path);
  const login = cached !== undefined && isFresh(cached, now, registry.service) ? cached : await mint(host, registry, path, deps);
  return { ServerURL: serverUrl.trim(), Username: IDENTITY_TOKEN_USERNAME, Secret: login.refreshToken };
}
