/**
 * `get`: the credential for one registry. From the cache while its refresh
 * token is fresh (no network at all); else mint: read the workload token,
 * trade it at the token server (found from the registry's challenge unless
 * configured) for a refresh token, cache it. Docker's answer is
 * `{"ServerURL", "Username": "<token>", "Secret": <refresh token>}`: an
 * identity token, which docker, buildx and skopeo trade for registry tokens.
 */
import type { Env } from "@jwt-registry-auth/client/env";
import type { Fetch, RetryOptions } from "@jwt-registry-auth/client/http";
import { expiryOf, unverifiedClaims } from "@jwt-registry-auth/client/jwt";
import { AddressError, parseRegistryAddress, type Registry } from "@jwt-registry-auth/client/registry-address";
import { probeRegistry, type RegistryProbe } from "@jwt-registry-auth/client/registry";
import { fetchRefreshToken, tokenEndpointFor, type TokenEndpoint } from "@jwt-registry-auth/client/token-server";
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

/** The registry a server URL names: docker passes `host[:port]` (credHelpers keys), sometimes `https://host`. */
export function registryOf(serverUrl: string): Registry {
  try {
    return parseRegistryAddress(serverUrl.trim(), "server URL");
  } catch (error) {
    if (error instanceof AddressError) throw new HelperError(error.message);
    throw error;
  }
}

async function endpointFor(registry: Registry, config: RegistryConfig, deps: GetDeps): Promise<TokenEndpoint> {
  const given = { ...(config.tokenServer && { tokenServer: config.tokenServer }), ...(config.service !== undefined && { service: config.service }) };
  // Both configured: nothing to ask the registry.
  const probe: RegistryProbe =
    config.tokenServer && config.service !== undefined ? { baseUrl: registry.baseUrl, basic: false } : await probeRegistry(registry, deps.fetch, deps.retry);
  const discovery = tokenEndpointFor(probe, given);
  if (!discovery.found) throw new HelperError(`no token server for ${registry.host}: ${discovery.reason}; set "tokenServer" and "service" for it in the helper config`);
  return discovery.endpoint;
}

const nowSeconds = (deps: GetDeps): number => (deps.now ?? (() => Math.floor(Date.now() / 1000)))();

/** Mints a refresh token for the registry and caches it. */
export async function mint(registry: Registry, config: RegistryConfig, path: string, deps: GetDeps): Promise<CachedLogin> {
  const endpoint = await endpointFor(registry, config, deps);
  const source = config.token ?? detectTokenSource(deps.env, endpoint.service);
  if (source === undefined) {
    throw new HelperError(
      `no token source for ${registry.host}: set "token" ({"file": …}, {"env": …}, {"command": […]} or {"github": {}}) in the helper config; no GitHub Actions, CircleCI or Buildkite environment was detected`,
    );
  }
  // GitHub's tokens are requested for an audience; by default the service the registry's tokens are for.
  const withAudience = source.kind === "github" && source.audience === undefined ? { ...source, audience: endpoint.service } : source;
  const jwt = await readWorkloadToken(withAudience, deps.env, deps.fetch, deps.retry);
  const grant = await fetchRefreshToken(endpoint, config.provider, jwt, HELPER_CLIENT_ID, deps.fetch, deps.retry);
  if (grant.refreshToken === undefined) {
    throw new HelperError(`the token server gave no refresh token for provider "${config.provider}" (token from ${describeTokenSource(source)}): turn on the provider's refresh tokens`);
  }
  const now = nowSeconds(deps);
  const expiresAt = expiryOf(grant.refreshToken);
  // Without `exp` it could not be renewed in time, so it is not cached.
  if (expiresAt === undefined) throw new HelperError("the token server's refresh token has no expiry (exp)");
  const iat = unverifiedClaims(grant.refreshToken)?.["iat"];
  const entry: CachedLogin = {
    refreshToken: grant.refreshToken,
    issuedAt: typeof iat === "number" && Number.isSafeInteger(iat) && iat > 0 ? iat : now,
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

export function cacheFileFor(config: HelperConfig, host: string, provider: string, deps: Pick<GetDeps, "env" | "home">): string {
  return cachePath(cacheDir(deps.env, deps.home, config.cacheDir), host, provider);
}

export async function getCredential(serverUrl: string, config: HelperConfig, deps: GetDeps): Promise<DockerCredential> {
  const registry = registryOf(serverUrl);
  const settings = registryConfigFor(config, registry.host);
  const path = cacheFileFor(config, registry.host, settings.provider, deps);
  const cached = readCache(path);
  const login = cached !== undefined && isFresh(cached, nowSeconds(deps), settings.service) ? cached : await mint(registry, settings, path, deps);
  return { ServerURL: serverUrl.trim(), Username: IDENTITY_TOKEN_USERNAME, Secret: login.refreshToken };
}
