/**
 * Talking to the registry itself, as `docker login` does: `GET /v2/` without
 * credentials to read its challenge (https first; for a loopback registry named
 * without a scheme, plain http when https fails to connect, as docker does for
 * its default insecure registries), and `GET /v2/` with the credential to prove
 * the login before anything is written.
 */
import { parseBearerChallenge, parseWwwAuthenticate, type BearerChallenge } from "@jwt-registry-auth/protocol/www-authenticate";
import { describeError, errorSummary, fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import type { Registry } from "./registry-address.ts";

export interface RegistryProbe {
  /** The base URL that answered (`https://host`, or the loopback `http://host` fallback); used for the rest of the login. */
  readonly baseUrl: string;
  /** The answer's status; absent when no base URL answered. */
  readonly status?: number;
  readonly challenge?: BearerChallenge;
  /** The registry asks for Basic credentials and has no Bearer challenge. */
  readonly basic: boolean;
  /** Why there is no Bearer challenge, naming the URL that was asked. */
  readonly failure?: string;
}

export class LoginRefusedError extends Error {
  override readonly name = "LoginRefusedError";
}

const v2 = (baseUrl: string): URL => new URL("/v2/", baseUrl);

export async function probeRegistry(registry: Registry, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<RegistryProbe> {
  const bases = registry.httpFallback === undefined ? [registry.baseUrl] : [registry.baseUrl, registry.httpFallback];
  let answeredBy = registry.baseUrl;
  let failures: string[] = [];
  let fellBackFrom = "";
  // Each attempt tries https, then (loopback only) http — only when https did not get an HTTP answer at all.
  const eachBase: Fetch = async (_input, init) => {
    const attemptFailures: string[] = [];
    for (const base of bases) {
      try {
        const response = await fetchImpl(v2(base), init);
        answeredBy = base;
        fellBackFrom = attemptFailures.length > 0 ? ` (after ${attemptFailures.join("; ")})` : "";
        return response;
      } catch (error) {
        attemptFailures.push(`GET ${v2(base).href} failed: ${describeError(error)}`);
      }
    }
    failures = attemptFailures;
    throw new Error(attemptFailures.join("; "));
  };
  let response: Response;
  try {
    response = await fetchWithRetry(eachBase, v2(registry.baseUrl), { headers: { Accept: "application/json" } }, retry);
  } catch (error) {
    return { baseUrl: registry.baseUrl, basic: false, failure: failures.length > 0 ? failures.join(", then ") : `GET ${v2(registry.baseUrl).href} failed: ${(error as Error).message}` };
  }
  await response.body?.cancel();
  const url = v2(answeredBy).href;
  const header = response.status === 401 ? response.headers.get("www-authenticate") : null;
  if (header === null) return { baseUrl: answeredBy, status: response.status, basic: false, failure: `GET ${url} answered ${response.status} without a token challenge${fellBackFrom}` };
  const challenge = parseBearerChallenge(header);
  if (challenge) return { baseUrl: answeredBy, status: response.status, challenge, basic: false };
  const basic = parseWwwAuthenticate(header).some((c) => c.scheme.toLowerCase() === "basic");
  return { baseUrl: answeredBy, status: response.status, basic, failure: `GET ${url} does not use token auth (WWW-Authenticate: ${header.slice(0, 100)})${fellBackFrom}` };
}

/**
 * `GET /v2/` with the credential, as `docker login` checks one: only a 200
 * proves it. A refusal names the status and the registry's own message.
 */
export async function proveLogin(baseUrl: string, authorization: string, what: string, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<void> {
  const url = v2(baseUrl);
  let response: Response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: authorization, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new LoginRefusedError(`cannot check the login: GET ${url.href} failed: ${(error as Error).message}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  const header = response.headers.get("www-authenticate");
  const challenge = header === null ? undefined : parseBearerChallenge(header);
  const detail = challenge?.error === undefined ? "" : ` (error="${challenge.error}"${challenge.errorDescription === undefined ? "" : `: ${challenge.errorDescription.slice(0, 200)}`})`;
  // eslint-disable-next-line no-control-regex
  const clean = detail.replace(/[\u0000-\u001f\u007f]+/g, " ");
  throw new LoginRefusedError(`the registry refused the login: GET ${url.href} with ${what} answered ${await errorSummary(response)}${clean}`);
}
