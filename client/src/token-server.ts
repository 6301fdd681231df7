/**
 * Finding the token server and trading the OIDC token for a refresh token,
 * exactly as `docker login` does against a Distribution token server:
 * `GET /v2/` → 401 `WWW-Authenticate: Bearer realm=…,service=…`, then
 * `GET realm?account=…&client_id=…&offline_token=true&service=…` with Basic
 * `provider:jwt` → `{…, refresh_token}`; and trading the stored credential for
 * a registry token the way docker later does, to prove the login.
 */
import { errorSummary, fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import { isLoopbackHost, type Registry } from "./registry-address.ts";
import { probeRegistry, type RegistryProbe } from "./registry.ts";

export interface TokenEndpoint {
  readonly realm: URL;
  readonly service: string;
}

export type Discovery = { readonly probe: RegistryProbe } & (
  | { readonly found: true; readonly endpoint: TokenEndpoint; /** The challenge's service, when the service input replaced it. */ readonly challengeService?: string }
  | { readonly found: false; readonly reason: string }
);

export class TokenServerError extends Error {
  override readonly name = "TokenServerError";
  /** The token server answered and said no: the OIDC token (or its provider) is not accepted. */
  readonly refused: boolean;
  constructor(message: string, refused = false) {
    super(message);
    this.refused = refused;
  }
}

/**
 * The realm receives the workload JWT, so it must be at least as protected as
 * the registry: plain http only when the registry itself is spoken to over http
 * (named with http, or the loopback fallback), or on loopback.
 */
function checkRealm(realm: URL, registryBaseUrl: string): void {
  if (realm.protocol === "https:") return;
  if (realm.protocol === "http:" && (registryBaseUrl.startsWith("http:") || isLoopbackHost(realm.hostname))) return;
  throw new TokenServerError(`refusing to send the OIDC token to ${realm.origin}: the token server must use https`);
}

export interface GivenEndpoint {
  /** The token-server input: replaces the challenge's realm. */
  readonly tokenServer?: URL;
  /** The service input: replaces the challenge's service. */
  readonly service?: string;
}

/**
 * The token endpoint from the probe of the registry. The service is the
 * service input's, else the challenge's; it is never guessed: a realm without
 * a service fails, naming the service input and the URL whose answer lacked it.
 */
export function tokenEndpointFor(probe: RegistryProbe, given: GivenEndpoint = {}): Discovery {
  const { challenge } = probe;
  let realm: URL;
  if (given.tokenServer) realm = new URL(given.tokenServer);
  else if (challenge) {
    try {
      realm = new URL(challenge.realm, probe.baseUrl);
    } catch {
      return { probe, found: false, reason: `the challenge of GET ${probe.baseUrl}/v2/ has an unusable realm` };
    }
  } else return { probe, found: false, reason: probe.failure ?? "no token challenge" };
  checkRealm(realm, probe.baseUrl);
  const service = given.service ?? challenge?.service;
  if (service === undefined || service === "") {
    const why = probe.failure ?? `the challenge of GET ${probe.baseUrl}/v2/ names no service`;
    throw new TokenServerError(`cannot tell which service to ask the token server for: ${why}; set the service input to the service the registry's tokens are for (its auth.token.service)`);
  }
  const challengeService = given.service !== undefined && challenge?.service !== undefined && challenge.service !== given.service ? challenge.service : undefined;
  return { probe, found: true, endpoint: { realm, service }, ...(challengeService !== undefined && { challengeService }) };
}

/** Reads the registry's challenge (see {@link probeRegistry}) and finds the token endpoint in it, or in the inputs. */
export async function discoverTokenEndpoint(registry: Registry, given: GivenEndpoint = {}, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<Discovery> {
  return tokenEndpointFor(await probeRegistry(registry, fetchImpl, retry), given);
}

export interface RefreshTokenGrant {
  /** Absent when the provider has refresh tokens turned off. */
  readonly refreshToken?: string;
}

/** `clientId`: how the client names itself to the token server, for its audit log (the Action: `jwt-registry-auth-action`). */
export async function fetchRefreshToken(endpoint: TokenEndpoint, provider: string, jwt: string, clientId: string, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<RefreshTokenGrant> {
  const url = new URL(endpoint.realm);
  url.searchParams.set("account", provider);
  url.searchParams.set("client_id", clientId);
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
  if (!isTokenString(refreshToken)) throw new TokenServerError("the token server's refresh_token is not a token string");
  return { refreshToken };
}

// eslint-disable-next-line no-control-regex
const isTokenString = (value: unknown): value is string => typeof value === "string" && value !== "" && !/[\s\u0000-\u001f\u007f]/.test(value);

/** What the docker config will hold, as docker will present it to the token server. */
export type StoredCredential =
  | { readonly kind: "refresh-token"; readonly refreshToken: string }
  | { readonly kind: "password"; readonly provider: string; readonly jwt: string };

/**
 * A registry token for the endpoint's service, no scope (`GET /v2/` needs only
 * a valid token), obtained as docker does with the stored credential: an
 * identity token is POSTed as `grant_type=refresh_token`; a password is sent
 * as Basic on `GET realm?account=…&service=…`.
 */
export async function fetchRegistryToken(endpoint: TokenEndpoint, credential: StoredCredential, clientId: string, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<string> {
  const url = new URL(endpoint.realm);
  let init: RequestInit;
  let what: string;
  if (credential.kind === "refresh-token") {
    what = "the refresh token";
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.refreshToken, service: endpoint.service, client_id: clientId });
    init = { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" }, body: form.toString() };
  } else {
    what = `the OIDC token for provider "${credential.provider}"`;
    url.searchParams.set("account", credential.provider);
    url.searchParams.set("client_id", clientId);
    url.searchParams.set("service", endpoint.service);
    const basic = Buffer.from(`${credential.provider}:${credential.jwt}`, "utf8").toString("base64");
    init = { headers: { Authorization: `Basic ${basic}`, Accept: "application/json" } };
  }
  let response: Response;
  try {
    response = await fetchWithRetry(fetchImpl, url, init, retry);
  } catch (error) {
    throw new TokenServerError(`cannot reach the token server to check the login: ${(error as Error).message}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new TokenServerError(`the token server at ${url.origin} refused ${what} (service "${endpoint.service}"): ${await errorSummary(response)}`, true);
  }
  if (!response.ok) throw new TokenServerError(`the token server at ${url.origin} failed to issue a registry token (service "${endpoint.service}"): ${await errorSummary(response)}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new TokenServerError(`the token server at ${url.origin} answered with something that is not JSON`);
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  // docker reads access_token from the OAuth POST and token from the GET; the token server sends both.
  const token = credential.kind === "refresh-token" ? (fields["access_token"] ?? fields["token"]) : (fields["token"] ?? fields["access_token"]);
  if (!isTokenString(token)) throw new TokenServerError(`the token server at ${url.origin} answered without a registry token`);
  return token;
}
