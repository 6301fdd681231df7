/**
 * The job's OIDC token from the Actions runtime: GET
 * `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the request token as Bearer
 * answers `{"value": "<jwt>"}`. The runtime only sets those two variables when
 * the workflow grants `id-token: write`.
 */
import { errorSummary, fetchWithRetry, type Fetch, type RetryOptions } from "./http.ts";
import { isCompactJwt } from "./jwt.ts";
import type { Env } from "./env.ts";

export class OidcTokenError extends Error {
  override readonly name = "OidcTokenError";
}

export async function requestActionsIdToken(env: Env, audience: string, fetchImpl: Fetch = fetch, retry: RetryOptions = {}): Promise<string> {
  const requestUrl = env["ACTIONS_ID_TOKEN_REQUEST_URL"];
  const requestToken = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"];
  if (!requestUrl || !requestToken) {
    throw new OidcTokenError(
      "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write` " +
        "(pull_request runs from forks never get an OIDC token)",
    );
  }
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new OidcTokenError("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url.searchParams.set("audience", audience);
  let response: Response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: `Bearer ${requestToken}`, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new OidcTokenError(`cannot get the Actions OIDC token: ${(error as Error).message}`);
  }
  if (!response.ok) throw new OidcTokenError(`the Actions OIDC token request failed: ${await errorSummary(response)}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new OidcTokenError("the Actions OIDC token response is not JSON");
  }
  const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["value"] : undefined;
  if (typeof value !== "string" || !isCompactJwt(value)) throw new OidcTokenError("the Actions OIDC token response has no JWT in `value`");
  return value;
}
