/**
 * What a registry asks for on `GET /v2/` without credentials — the first thing
 * `docker login` does. Distribution with token auth answers 401 and
 * `WWW-Authenticate: Bearer realm=…,service=…`; the realm is the token server,
 * the service is the `aud` its registry tokens must carry.
 */
import { parseBearerChallenge, parseWwwAuthenticate } from "@jwt-registry-auth/protocol/www-authenticate";
import { fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import { baseUrlsToTry, type RegistryAddress } from "./registry-address.ts";

export type RegistryChallenge =
  /** Token auth. `realm` is resolved against the base URL; undefined when it is not a URL. */
  | { readonly kind: "bearer"; readonly baseUrl: string; readonly realm: URL | undefined; readonly service: string | undefined }
  /** Another scheme, e.g. Basic (htpasswd): credentials go to the registry itself. */
  | { readonly kind: "other"; readonly baseUrl: string; readonly scheme: string }
  /** `/v2/` answered 200 without credentials. */
  | { readonly kind: "open"; readonly baseUrl: string }
  /** Nothing usable: unreachable on every base URL, or an answer without a challenge. */
  | { readonly kind: "unreadable"; readonly reason: string };

async function probe(baseUrl: string, fetchImpl: Fetch, retry: RetryOptions): Promise<RegistryChallenge> {
  const response = await fetchWithRetry(fetchImpl, new URL("/v2/", baseUrl), { headers: { Accept: "application/json" } }, retry);
  await response.body?.cancel();
  if (response.ok) return { kind: "open", baseUrl };
  const header = response.status === 401 ? response.headers.get("www-authenticate") : null;
  if (header === null) return { kind: "unreadable", reason: `GET ${baseUrl}/v2/ answered ${response.status} without a challenge` };
  const bearer = parseBearerChallenge(header);
  if (bearer === undefined) return { kind: "other", baseUrl, scheme: parseWwwAuthenticate(header)[0]?.scheme ?? header.slice(0, 40) };
  let realm: URL | undefined;
  try {
    realm = new URL(bearer.realm, baseUrl);
  } catch {
    realm = undefined;
  }
  return { kind: "bearer", baseUrl, realm, service: bearer.service };
}

/**
 * Probes each base URL in turn (https, then http for a loopback registry named
 * without a scheme). Only a failure to connect moves on, as docker's endpoint
 * fallback does: an http answer, even an error, is the registry speaking.
 */
export async function readChallenge(address: RegistryAddress, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<RegistryChallenge> {
  const failures: string[] = [];
  const candidates = baseUrlsToTry(address);
  for (const [index, baseUrl] of candidates.entries()) {
    // A refused TLS handshake is not transient: retrying it would only delay the http fallback.
    const last = index === candidates.length - 1;
    try {
      return await probe(baseUrl, fetchImpl, last ? retry : { ...retry, attempts: 1 });
    } catch (error) {
      failures.push(`GET ${(error as Error).message}`);
    }
  }
  return { kind: "unreadable", reason: failures.join("; then ") };
}
