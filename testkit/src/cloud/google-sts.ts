/**
 * Local stand-in for Google's keyless path, on one loopback server:
 *
 * - STS `POST /v1/token` (RFC 8693 token exchange, form body): the
 *   `audience` must name a configured workload identity pool provider
 *   (`//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<id>`);
 *   the subject token is verified as GCP does — the provider's issuer,
 *   discovery and JWKS fetched from it, signature, `aud` = the provider's
 *   default audience (`https://iam.googleapis.com/<provider>`), `exp` — and
 *   the provider's attribute condition (here: `assertion.sub == <subject>`)
 *   must hold. Errors as Google's OAuth JSON: `invalid_grant`,
 *   `invalid_request`, `unauthorized_client` (400).
 * - iamcredentials `generateAccessToken` (./iam-credentials.ts), with the
 *   federated tokens this STS issued.
 *
 * The service account's access token is the password the registry's
 * htpasswd holds for `oauth2accesstoken` (`registryPassword`), valid for
 * `tokenSeconds`.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyFederationJwt } from "./federation-verifier.ts";
import { generateAccessToken, readBody, type FederatedToken, type ServiceAccountBindings } from "./iam-credentials.ts";

export interface GooglePoolProvider {
  /** The provider's issuer URI (the proxy's PUBLIC_URL). */
  readonly issuer: string;
  /** The attribute condition pins the federation JWT's `sub` to this. */
  readonly subject: string;
}

export interface GoogleStandInOptions {
  /** Provider resource name (projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<id>) → its config. */
  readonly providers: Readonly<Record<string, GooglePoolProvider>>;
  /** Service account email → principal subjects granted roles/iam.workloadIdentityUser on it. */
  readonly serviceAccounts: ServiceAccountBindings;
  readonly registryPassword: string;
  /** Lifetime of federated and service-account tokens (s). Default 3600. */
  readonly tokenSeconds?: number;
  /** Google's clock (epoch ms). */
  readonly now?: () => number;
}

export interface GoogleStandIn {
  readonly url: string;
  /** Calls answered: "sts:ok", "sts:invalid_grant", "iam:ok", "iam:PERMISSION_DENIED", … */
  readonly calls: string[];
  /** Refuse every call with this HTTP status (503: an outage). */
  failWith: number | undefined;
  close(): Promise<void>;
}

export function oauthError(response: ServerResponse, status: number, error: string, description: string): string {
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify({ error, error_description: description }));
  return error;
}

export async function startGoogleStandIn(options: GoogleStandInOptions): Promise<GoogleStandIn> {
  const now = options.now ?? (() => Date.now());
  const seconds = options.tokenSeconds ?? 3600;
  const federated = new Map<string, FederatedToken>();
  const calls: string[] = [];

  async function sts(request: IncomingMessage, response: ServerResponse): Promise<string> {
    if (!(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return oauthError(response, 400, "invalid_request", "Invalid Content-Type.");
    const form = new URLSearchParams(await readBody(request));
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:token-exchange") return oauthError(response, 400, "unsupported_grant_type", "Invalid value for grant_type.");
    if (form.get("subject_token_type") !== "urn:ietf:params:oauth:token-type:jwt") return oauthError(response, 400, "invalid_request", "Invalid value for subject_token_type.");
    if (form.get("requested_token_type") !== "urn:ietf:params:oauth:token-type:access_token") return oauthError(response, 400, "invalid_request", "Invalid value for requested_token_type.");
    const audience = form.get("audience") ?? "";
    const name = audience.replace(/^\/\/iam\.googleapis\.com\//, "");
    const provider = audience.startsWith("//iam.googleapis.com/") ? options.providers[name] : undefined;
    if (!provider) return oauthError(response, 400, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid.");
    const verdict = await verifyFederationJwt(form.get("subject_token") ?? "", `https://iam.googleapis.com/${name}`, { issuers: () => [provider.issuer], now });
    if (!verdict.ok) return oauthError(response, 400, "invalid_grant", `ID Token verification failed: ${verdict.detail}`);
    if (verdict.claims.sub !== provider.subject) return oauthError(response, 400, "unauthorized_client", "The given credential is rejected by the attribute condition.");
    const token = `ya29.fed-${randomBytes(24).toString("base64url")}`;
    const poolName = name.replace(/\/providers\/[^/]+$/, "");
    federated.set(token, { principal: `principal://iam.googleapis.com/${poolName}/subject/${String(verdict.claims.sub)}`, expiresAt: now() + seconds * 1000 });
    response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    response.end(JSON.stringify({ access_token: token, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: seconds }));
    return "ok";
  }

  const standIn: GoogleStandIn = {
    url: "",
    calls,
    failWith: undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const isSts = path === "/v1/token";
    const prefix = isSts ? "sts" : "iam";
    void (async () => {
      if (standIn.failWith !== undefined) {
        calls.push(`${prefix}:HTTP ${standIn.failWith}`);
        return oauthError(response, standIn.failWith, "temporarily_unavailable", "The service is currently unavailable.");
      }
      if (request.method !== "POST") return oauthError(response, 405, "invalid_request", "Method not allowed.");
      const outcome = isSts ? await sts(request, response) : await generateAccessToken(request, response, { path, federated, serviceAccounts: options.serviceAccounts, registryPassword: options.registryPassword, seconds, now });
      calls.push(`${prefix}:${outcome}`);
      return outcome;
    })().catch(() => {
      if (!response.headersSent) oauthError(response, 500, "internal_failure", "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  Object.assign(standIn, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return standIn;
}
