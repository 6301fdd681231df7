/**
 * Talking to the token server as `docker login` does against a Distribution
 * token server: `GET realm?account=…&client_id=…&offline_token=true&service=…`
 * with Basic `provider:jwt` for a refresh token, and a refresh-token or
 * password grant for a registry token. Which realm and service to use comes
 * from the registry's challenge, or from explicit settings — never a guess.
 */
import { errorSummary, fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import type { RegistryChallenge } from "./challenge.ts";
import { isLoopbackHost, type RegistryAddress } from "./registry-address.ts";

export interface TokenEndpoint {
  readonly realm: URL;
  /** The registry's token service: the `aud` of its registry tokens, and what a refresh token is bound to. */
  readonly service: string;
}

/** How a client reaches the token server and names itself in its audit log. */
export interface TokenClient {
  readonly clientId: string;
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
}

export class TokenServerError extends Error {
  override readonly name = "TokenServerError";
  /** The token server answered and said no: the credential (or its provider) is not accepted. */
  readonly refused: boolean;
  constructor(message: string, refused = false) {
    super(message);
    this.refused = refused;
  }
}

/** Settings that replace what the challenge says (the Action's inputs, the helper's config). */
export interface EndpointOverrides {
  readonly tokenServer?: URL;
  readonly service?: string;
}

export type EndpointResolution = { readonly found: true; readonly endpoint: TokenEndpoint } | { readonly found: false; readonly reason: string };

function describeChallenge(address: RegistryAddress, challenge: RegistryChallenge): string {
  switch (challenge.kind) {
    case "bearer":
      return `${address.host}'s token challenge has ${challenge.realm === undefined ? "an unusable realm" : "no service"}`;
    case "other":
      return `${address.host} does not use token auth (it asks for ${challenge.scheme})`;
    case "open":
      return `GET ${challenge.baseUrl}/v2/ answered 200: ${address.host} asks for no credentials`;
    case "unreadable":
      return challenge.reason;
  }
}

/**
 * The realm receives the workload JWT, so it must be at least as protected as
 * the registry: plain http only when the registry itself answered over http,
 * or on loopback.
 */
function checkRealm(realm: URL, challenge: RegistryChallenge): void {
  if (realm.protocol === "https:") return;
  const registryOverHttp = challenge.kind !== "unreadable" && challenge.baseUrl.startsWith("http:");
  if (realm.protocol === "http:" && (registryOverHttp || isLoopbackHost(realm.hostname))) return;
  throw new TokenServerError(`refusing to send the workload token to ${realm.origin}: the token server must use https`);
}

/**
 * The token endpoint: the override or the challenge's realm, and the override
 * or the challenge's service. A realm without a service is an error, never a
 * guess: a refresh token for the wrong service is refused on every later pull.
 */
export function resolveTokenEndpoint(address: RegistryAddress, challenge: RegistryChallenge, overrides: EndpointOverrides = {}): EndpointResolution {
  const fromChallenge = challenge.kind === "bearer" ? challenge : undefined;
  const realm = overrides.tokenServer ?? fromChallenge?.realm;
  if (realm === undefined) return { found: false, reason: describeChallenge(address, challenge) };
  const service = overrides.service ?? fromChallenge?.service;
  if (service === undefined || service === "") {
    throw new TokenServerError(
      `cannot tell which service to ask the token server for: ${describeChallenge(address, challenge)}. ` +
        "Set `service` to the registry's token service (Distribution's auth.token.service, the proxy's TOKEN_SERVICE)",
    );
  }
  checkRealm(realm, challenge);
  return { found: true, endpoint: { realm: new URL(realm), service } };
}

async function readJson(response: Response, origin: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new TokenServerError(`the token server at ${origin} answered with something that is not JSON`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new TokenServerError(`the token server at ${origin} answered with something that is not a JSON object`);
  return body as Record<string, unknown>;
}

/** A token goes into JSON files and HTTP headers: whitespace or control characters mean something is off. */
function tokenString(value: unknown, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== "string" || value === "" || /[\s\u0000-\u001f\u007f]/.test(value)) throw new TokenServerError(`the token server's ${what} is not a token string`);
  return value;
}

async function send(url: URL, init: RequestInit, client: TokenClient, refusal: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetchWithRetry(client.fetch ?? fetch, url, { ...init, headers: { Accept: "application/json", ...init.headers } }, client.retry);
  } catch (error) {
    throw new TokenServerError(`cannot reach the token server: ${(error as Error).message}`);
  }
  if (response.status === 401 || response.status === 403) throw new TokenServerError(`the token server at ${url.origin} refused ${refusal}: ${await errorSummary(response)}`, true);
  if (!response.ok) throw new TokenServerError(`the token server at ${url.origin} failed: ${await errorSummary(response)}`);
  return readJson(response, url.origin);
}

/** `Authorization: Basic …` for a username and password (UTF-8, as docker sends it). */
export const basicAuthorization = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;

function passwordGrantUrl(endpoint: TokenEndpoint, provider: string, client: TokenClient, offline: boolean): URL {
  const url = new URL(endpoint.realm);
  url.searchParams.set("account", provider);
  url.searchParams.set("client_id", client.clientId);
  if (offline) url.searchParams.set("offline_token", "true");
  url.searchParams.set("service", endpoint.service);
  return url;
}

export interface RefreshTokenGrant {
  /** Absent when the provider has refresh tokens turned off. */
  readonly refreshToken?: string;
}

/** Trades the workload JWT for a refresh token bound to `endpoint.service`. */
export async function fetchRefreshToken(endpoint: TokenEndpoint, provider: string, jwt: string, client: TokenClient): Promise<RefreshTokenGrant> {
  const url = passwordGrantUrl(endpoint, provider, client, true);
  const body = await send(url, { headers: { Authorization: basicAuthorization(provider, jwt) } }, client, `the workload token for provider "${provider}"`);
  if (body["refresh_token"] === undefined || body["refresh_token"] === "") return {};
  return { refreshToken: tokenString(body["refresh_token"], "refresh_token") };
}

/** What a registry login holds: a refresh token (docker's identity token), or the workload JWT as the password. */
export type LoginCredential =
  | { readonly kind: "refresh"; readonly provider: string; readonly refreshToken: string }
  | { readonly kind: "password"; readonly provider: string; readonly password: string };

/** A registry token for `endpoint.service` with no scope (a login), obtained the way docker and skopeo do with that credential. */
export async function fetchRegistryToken(endpoint: TokenEndpoint, credential: LoginCredential, client: TokenClient): Promise<string> {
  let body: Record<string, unknown>;
  if (credential.kind === "refresh") {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.refreshToken, service: endpoint.service, client_id: client.clientId });
    body = await send(new URL(endpoint.realm), { method: "POST", body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } }, client, "the refresh token");
  } else {
    const url = passwordGrantUrl(endpoint, credential.provider, client, false);
    body = await send(url, { headers: { Authorization: basicAuthorization(credential.provider, credential.password) } }, client, `the workload token for provider "${credential.provider}"`);
  }
  return tokenString(body["token"] ?? body["access_token"], "token");
}
