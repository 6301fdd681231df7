/**
 * Local stand-in for the Entra ID (Azure AD) v2 token endpoint,
 * `POST /<tenant>/oauth2/v2.0/token` (form body), client-credentials grant:
 *
 * - keyless: `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
 *   with the federation JWT as `client_assertion`, verified as Entra verifies
 *   a federated identity credential — its issuer must be one the app
 *   registered (discovery and JWKS fetched from it), signature,
 *   `aud` = `api://AzureADTokenExchange`, `exp`, and `sub` must equal the
 *   credential's subject;
 * - keyed: `client_secret`.
 *
 * The scope must be `https://containerregistry.azure.net/.default`. Answers an
 * AAD access token (an ES256 JWT this stand-in signs: iss
 * `https://sts.windows.net/<tenant>/`, aud `https://containerregistry.azure.net`,
 * tid, appid, oid); refusals in Entra's JSON shape with the AADSTS code.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify, SignJWT, type JWTPayload } from "jose";
import { verifyFederationJwt, type FederationRefusal } from "./federation-verifier.ts";
import { readBody } from "./iam-credentials.ts";

export const ENTRA_ACR_SCOPE = "https://containerregistry.azure.net/.default";
export const ENTRA_ACR_AUDIENCE = "https://containerregistry.azure.net";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** An app registration: its federated identity credentials and/or a client secret. */
export interface EntraApp {
  readonly federatedCredentials: { issuer: string; subject: string }[];
  readonly clientSecret?: string;
  /** The service principal's object id (`oid` of its tokens). */
  readonly objectId: string;
}

export interface EntraStandInOptions {
  readonly tenant: string;
  /** Application (client) id → registration (mutable, so tests can change it). */
  readonly apps: Record<string, EntraApp>;
  /** AAD access token lifetime (s). Default 3600. */
  readonly tokenSeconds?: number;
  readonly now?: () => number;
}

export interface EntraStandIn {
  readonly url: string;
  /** Calls answered: "entra:ok", "entra:AADSTS700213", "entra:HTTP 503". */
  readonly calls: string[];
  failWith: number | undefined;
  /** What a resource (ACR) checks of an AAD access token: signature, iss, aud, exp. */
  verifyAccessToken(token: string): Promise<JWTPayload | undefined>;
  close(): Promise<void>;
}

const FEDERATION_CODES: Record<FederationRefusal, [number, string]> = {
  unregistered_issuer: [700211, "No matching federated identity record found for presented assertion issuer."],
  discovery_failed: [700211, "No matching federated identity record found for presented assertion issuer."],
  wrong_audience: [700212, "No matching federated identity record found for presented assertion audience."],
  expired: [700024, "Client assertion is not within its valid time range."],
  not_yet_valid: [700024, "Client assertion is not within its valid time range."],
  bad_signature: [50013, "Assertion failed signature validation."],
  malformed: [50027, "JWT token is invalid or malformed."],
};

function entraError(response: ServerResponse, status: number, error: string, code: number, description: string): string {
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify({ error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() }));
  return `AADSTS${code}`;
}

export async function startEntraStandIn(options: EntraStandInOptions): Promise<EntraStandIn> {
  const now = options.now ?? (() => Date.now());
  const seconds = options.tokenSeconds ?? 3600;
  const issuer = `https://sts.windows.net/${options.tenant}/`;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" }) as { privateKey: KeyObject; publicKey: KeyObject };
  const calls: string[] = [];

  async function token(request: IncomingMessage, response: ServerResponse, path: string): Promise<string> {
    if (path !== `/${options.tenant}/oauth2/v2.0/token`) return entraError(response, 400, "invalid_request", 90002, `Tenant '${path.split("/")[1] ?? ""}' not found.`);
    if (request.method !== "POST") return entraError(response, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
    if (!(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return entraError(response, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
    const form = new URLSearchParams(await readBody(request));
    if (form.get("grant_type") !== "client_credentials") return entraError(response, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    const clientId = form.get("client_id") ?? "";
    const app = options.apps[clientId];
    if (!app) return entraError(response, 400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    if (form.get("scope") !== ENTRA_ACR_SCOPE) return entraError(response, 400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.");
    const assertion = form.get("client_assertion");
    const secret = form.get("client_secret");
    if (assertion !== null) {
      if (form.get("client_assertion_type") !== ASSERTION_TYPE) return entraError(response, 400, "invalid_request", 50027, "Invalid client_assertion_type.");
      const verdict = await verifyFederationJwt(assertion, "api://AzureADTokenExchange", { issuers: () => app.federatedCredentials.map((c) => c.issuer), now });
      if (!verdict.ok) {
        const [code, description] = FEDERATION_CODES[verdict.refusal];
        return entraError(response, 401, "invalid_client", code, description);
      }
      if (!app.federatedCredentials.some((c) => c.issuer === verdict.claims.iss && c.subject === verdict.claims.sub)) {
        return entraError(response, 401, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject.");
      }
    } else if (secret !== null) {
      if (app.clientSecret === undefined || secret !== app.clientSecret) return entraError(response, 401, "invalid_client", 7000215, "Invalid client secret provided.");
    } else {
      return entraError(response, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const iat = Math.floor(now() / 1000);
    const accessToken = await new SignJWT({ tid: options.tenant, appid: clientId, oid: app.objectId })
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(ENTRA_ACR_AUDIENCE)
      .setSubject(app.objectId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + seconds)
      .sign(privateKey);
    response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    response.end(JSON.stringify({ token_type: "Bearer", expires_in: seconds, ext_expires_in: seconds, access_token: accessToken }));
    return "ok";
  }

  const standIn: EntraStandIn = {
    url: "",
    calls,
    failWith: undefined,
    async verifyAccessToken(accessToken) {
      try {
        const { payload } = await jwtVerify(accessToken, publicKey, { issuer, audience: ENTRA_ACR_AUDIENCE, algorithms: ["ES256"], currentDate: new Date(now()), requiredClaims: ["exp", "oid", "tid"] });
        return payload;
      } catch {
        return undefined;
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    void (async () => {
      if (standIn.failWith !== undefined) {
        calls.push(`entra:HTTP ${standIn.failWith}`);
        return entraError(response, standIn.failWith, "temporarily_unavailable", 50196, "The service is temporarily unavailable.");
      }
      const outcome = await token(request, response, path);
      calls.push(`entra:${outcome}`);
      return outcome;
    })().catch(() => {
      if (!response.headersSent) entraError(response, 500, "server_error", 90033, "A transient error has occurred.");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  Object.assign(standIn, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  return standIn;
}
