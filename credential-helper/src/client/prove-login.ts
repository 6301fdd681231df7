/**
 * Proving a login the way `docker login` does: by using it. With token auth the
 * credential is traded for a registry token for the challenge's service and
 * `GET /v2/` is sent with it; with Basic auth the credential goes to `/v2/`
 * itself. Anything but 200 means later pulls would fail too, so it is an error
 * naming who refused and why.
 */
import { errorSummary, fetchWithRetry } from "./http.ts";
import { basicAuthorization, fetchRegistryToken, TokenServerError, type LoginCredential, type TokenClient, type TokenEndpoint } from "./token-server.ts";

export class LoginRefusedError extends Error {
  override readonly name = "LoginRefusedError";
}

export type LoginProof =
  | { readonly kind: "bearer"; readonly endpoint: TokenEndpoint; readonly credential: LoginCredential }
  | { readonly kind: "basic"; readonly credential: LoginCredential & { readonly kind: "password" } };

const describe = (credential: LoginCredential): string => (credential.kind === "refresh" ? "the refresh token" : "the workload token as password");

export async function proveLogin(baseUrl: string, proof: LoginProof, client: TokenClient): Promise<void> {
  let authorization: string;
  if (proof.kind === "bearer") {
    try {
      authorization = `Bearer ${await fetchRegistryToken(proof.endpoint, proof.credential, client)}`;
    } catch (error) {
      if (error instanceof TokenServerError) throw new LoginRefusedError(`login not proven: trading ${describe(proof.credential)} for a registry token for service "${proof.endpoint.service}" failed: ${error.message}`);
      throw error;
    }
  } else authorization = basicAuthorization(proof.credential.provider, proof.credential.password);

  const url = new URL("/v2/", baseUrl);
  let response: Response;
  try {
    response = await fetchWithRetry(client.fetch ?? fetch, url, { headers: { Authorization: authorization, Accept: "application/json" } }, client.retry);
  } catch (error) {
    throw new LoginRefusedError(`login not proven: ${(error as Error).message}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  const why =
    proof.kind === "bearer"
      ? `the registry refused the token server's token for service "${proof.endpoint.service}" (does the registry's auth.token.service, issuer and certificate match the token server?)`
      : `the registry refused ${describe(proof.credential)}`;
  throw new LoginRefusedError(`login not proven: GET ${url.href} with ${describe(proof.credential)}: ${await errorSummary(response)}: ${why}`);
}
