/**
 * Finding the token server and trading the OIDC token for a refresh token,
 * exactly as `docker login` does against a Distribution token server:
 * `GET /v2/` → 401 `WWW-Authenticate: Bearer realm=…,service=…`, then
 * `GET realm?account=…&client_id=…&offline_token=true&service=…` with Basic
 * `provider:jwt` → `{…, refresh_token}`.
 */
import { parseBearerChallenge } from "@jwt-registry-auth/protocol/www-authenticate";
import { errorSummary, fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import type { Registry } from "./inputs.ts";

export interface TokenEndpoint {
  readonly realm: URL;
  readonly service: string;
}

export type Discovery = { readonly found: true; readonly endpoint: TokenEndpoint } | { readonly found: false; readonly reason: string };

/** How this client names itself to the token server, for its audit log. */
export const CLIENT_ID = "jwt-registry-auth-action";

export class TokenServerError extends Error {
  override readonly name = "TokenServerError";
  /** The token server answered and said no: the OIDC token (or its provider) is not accepted. */
  readonly refused: boolean;
  constructor(message: string, refused = false) {
    super(message);
    this.refused = refused;
  }
}

const isLoopback = (url: URL): boolean => url.hostname === "localhost" || url.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);

/**
 * The realm receives the workload JWT, so it must be at least as protected as
 * the registry: plain http only when the registry itself was named with http,
 * or on loopback.
 */
function checkRealm(realm: URL, registry: Registry): void {
  if (realm.protocol === "https:") return;
  if (realm.protocol === "http:" && (registry.baseUrl.startsWith("http:") || isLoopback(realm))) return;
  throw new TokenServerError(`refusing to send the OIDC token to ${realm.origin}: the token server must use https`);
}

/**
 * Reads the registry's challenge. `tokenServer` (the input) replaces the realm;
 * the service still comes from the challenge when there is one, else it is the
 * registry host.
 */
export async function discoverTokenEndpoint(registry: Registry, tokenServer: URL | undefined, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<Discovery> {
  let header: string | null = null;
  let failure: string | undefined;
  try {
    const response = await fetchWithRetry(fetchImpl, new URL("/v2/", registry.baseUrl), { headers: { Accept: "application/json" } }, retry);
    await response.body?.cancel();
    header = response.status === 401 ? response.headers.get("www-authenticate") : null;
    if (header === null) failure = `GET ${registry.baseUrl}/v2/ answered ${response.status} without a token challenge`;
  } catch (error) {
    failure = `GET ${registry.baseUrl}/v2/ failed: ${(error as Error).message}`;
  }
  const challenge = header === null ? undefined : parseBearerChallenge(header);
  if (header !== null && challenge === undefined) failure = `${registry.host} does not use token auth (WWW-Authenticate: ${header.slice(0, 100)})`;

  let realm: URL;
  if (tokenServer) realm = new URL(tokenServer);
  else if (challenge) {
    try {
      realm = new URL(challenge.realm, registry.baseUrl);
    } catch {
      return { found: false, reason: `${registry.host}'s challenge has an unusable realm` };
    }
  } else return { found: false, reason: failure ?? "no token challenge" };
  checkRealm(realm, registry);
  return { found: true, endpoint: { realm, service: challenge?.service ?? registry.host } };
}

export interface RefreshTokenGrant {
  /** Absent when the provider has refresh tokens turned off. */
  readonly refreshToken?: string;
}

export async function fetchRefreshToken(endpoint: TokenEndpoint, provider: string, jwt: string, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<RefreshTokenGrant> {
  const url = new URL(endpoint.realm);
  url.searchParams.set("account", provider);
  url.searchParams.set("client_id", CLIENT_ID);
  url.searchParams.set("offline_token", "true");
  url.searchParams.set("service", endpoint.service);
  const basic = Buffer.from(`${provider}:${jwt}`, "utf8").toString("base64");
  let response: Response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: `Basic ${basic}`, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new TokenServerError(`cannot reach the token server: ${(error as Error).message}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new TokenServerError(`the token server at ${url.origin} refused the OIDC token for provider "${provider}": ${await errorSummary(response)}`, true);
  }
  if (!response.ok) throw new TokenServerError(`the token server at ${url.origin} failed: ${await errorSummary(response)}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new TokenServerError(`the token server at ${url.origin} answered with something that is not JSON`);
  }
  const refreshToken = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["refresh_token"] : undefined;
  if (refreshToken === undefined || refreshToken === "") return {};
  // It goes into a JSON file and an HTTP form field; whitespace or control characters mean something is off.
  // eslint-disable-next-line no-control-regex
  if (typeof refreshToken !== "string" || /[\s\u0000-\u001f]/.test(refreshToken)) throw new TokenServerError("the token server's refresh_token is not a token string");
  return { refreshToken };
}
