/**
 * Local stand-in for an Azure Container Registry's token endpoints
 * (Azure/acr docs/AAD-OAuth.md), on the registry's own origin:
 *
 * - `POST /oauth2/exchange` (form: grant_type=access_token, service, tenant,
 *   access_token): the AAD access token must verify against the Entra
 *   stand-in (signature, iss, aud, exp), its tenant match, and `service` be
 *   this registry → `{"refresh_token": <JWT>}`;
 * - `POST /oauth2/token` (form: grant_type=refresh_token, service, scope,
 *   refresh_token): the refresh token must be one this registry signed, for
 *   this service and unexpired → `{"access_token": <JWT>}` whose `access`
 *   holds what was asked for, cut down to the principal's role assignment
 *   (AcrPull: pull; AcrPush: pull, push).
 *
 * Refusals as ACR answers them: 401 `{"errors":[{"code":"UNAUTHORIZED",…}]}`.
 * Everything else is forwarded to a real Distribution started here with
 * token auth trusting this stand-in's certificate (realm: this /oauth2/token,
 * service: this host), so a request without a minted access token is refused
 * by the registry itself.
 */
import { createPublicKey, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { importPKCS8, jwtVerify, SignJWT } from "jose";
import { generateSigningMaterial } from "@jwt-registry-auth/cli/keys/material";
import { startRegistry, type Registry } from "../registry.ts";
import { makeTempDir, removeDir } from "../temp-dir.ts";
import type { EntraStandIn } from "./entra.ts";
import { forwardTo } from "./forward.ts";
import { readBody } from "./iam-credentials.ts";

export const ACR_TOKEN_ISSUER = "Azure Container Registry";

export interface AcrStandInOptions {
  readonly entra: EntraStandIn;
  readonly tenant: string;
  /** Service principal object id → the actions its role assignment grants on every repository (mutable). */
  readonly roleAssignments: Record<string, readonly string[]>;
  /** Refresh and access token lifetime (s). Default 3600 and 300, as ACR. */
  readonly refreshSeconds?: number;
  readonly accessSeconds?: number;
  readonly now?: () => number;
}

export interface AcrStandIn {
  readonly url: string;
  /** The login server: ACR's `service`. */
  readonly host: string;
  readonly registry: Registry;
  /** Calls answered: "exchange:ok", "exchange:UNAUTHORIZED", "token:ok", … */
  readonly calls: string[];
  failWith: number | undefined;
  close(): Promise<void>;
}

function acrError(response: ServerResponse, status: number, code: string, message: string): string {
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify({ errors: [{ code, message }] }));
  return code;
}

/** `repository:<name>:<actions>` terms of a space-delimited scope. */
function repositoryScopes(scope: string): { name: string; actions: string[] }[] {
  return scope
    .split(" ")
    .filter((term) => term.startsWith("repository:"))
    .map((term) => {
      const actions = term.slice(term.lastIndexOf(":") + 1);
      return { name: term.slice("repository:".length, term.lastIndexOf(":")), actions: actions.split(",").filter(Boolean) };
    });
}

export async function startAcrStandIn(options: AcrStandInOptions): Promise<AcrStandIn> {
  const now = options.now ?? (() => Date.now());
  const refreshSeconds = options.refreshSeconds ?? 3600;
  const accessSeconds = options.accessSeconds ?? 300;
  const calls: string[] = [];
  const dir = makeTempDir("acr-stand-in");
  const signing = await generateSigningMaterial({ subject: "acr stand-in" });
  const certPath = join(dir, "acr-cert.pem");
  writeFileSync(certPath, signing.certPem);
  const key = await importPKCS8(signing.keyPem, "ES256");
  const publicKey = createPublicKey(signing.keyPem);
  const x5c = [signing.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "")];
  let host = "";
  let forward: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => void response.writeHead(503).end();

  const sign = (claims: Record<string, unknown>, subject: string, seconds: number): Promise<string> => {
    const iat = Math.floor(now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: signing.kid, x5c })
      .setIssuer(ACR_TOKEN_ISSUER)
      .setAudience(host)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + seconds)
      .sign(key);
  };

  async function form(request: IncomingMessage): Promise<URLSearchParams | undefined> {
    if (request.method !== "POST" || !(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return undefined;
    return new URLSearchParams(await readBody(request));
  }

  async function exchange(request: IncomingMessage, response: ServerResponse): Promise<string> {
    const body = await form(request);
    if (!body || body.get("grant_type") !== "access_token") return acrError(response, 400, "UNSUPPORTED", "grant_type must be access_token");
    if (body.get("service") !== host) return acrError(response, 400, "INVALID_SERVICE", `service must be ${host}`);
    const aad = await options.entra.verifyAccessToken(body.get("access_token") ?? "");
    if (!aad || aad["tid"] !== options.tenant || body.get("tenant") !== options.tenant) return acrError(response, 401, "UNAUTHORIZED", "the AAD access token is not valid for this registry's tenant");
    const refreshToken = await sign({ grant_type: "refresh_token", tenant: options.tenant, permissions: { actions: ["*"] } }, String(aad["oid"]), refreshSeconds);
    response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    response.end(JSON.stringify({ refresh_token: refreshToken }));
    return "ok";
  }

  async function token(request: IncomingMessage, response: ServerResponse): Promise<string> {
    const body = await form(request);
    if (!body || body.get("grant_type") !== "refresh_token") return acrError(response, 400, "UNSUPPORTED", "grant_type must be refresh_token");
    if (body.get("service") !== host) return acrError(response, 400, "INVALID_SERVICE", `service must be ${host}`);
    let principal: string;
    try {
      const { payload } = await jwtVerify(body.get("refresh_token") ?? "", publicKey, { issuer: ACR_TOKEN_ISSUER, audience: host, algorithms: ["ES256"], currentDate: new Date(now()), requiredClaims: ["exp", "sub"] });
      if (payload["grant_type"] !== "refresh_token" || payload.sub === undefined) throw new Error("not a refresh token");
      principal = payload.sub;
    } catch {
      return acrError(response, 401, "UNAUTHORIZED", "the refresh token is not valid");
    }
    const allowed = options.roleAssignments[principal];
    if (!allowed) return acrError(response, 401, "UNAUTHORIZED", "the principal has no role assignment on this registry");
    const access = repositoryScopes(body.get("scope") ?? "").map((s) => ({ type: "repository", name: s.name, actions: s.actions.filter((a) => allowed.includes(a)) }));
    const accessToken = await sign({ access, grant_type: "access_token", tenant: options.tenant }, principal, accessSeconds);
    response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
    response.end(JSON.stringify({ access_token: accessToken }));
    return "ok";
  }

  // Assigned once the registry behind it runs; nothing calls in before then.
  const self: { standIn?: AcrStandIn } = {};

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const step = path === "/oauth2/exchange" ? exchange : path === "/oauth2/token" ? token : undefined;
    if (!step) return forward(request, response);
    const prefix = path.slice("/oauth2/".length);
    void (async () => {
      const failWith = self.standIn?.failWith;
      if (failWith !== undefined) {
        calls.push(`${prefix}:HTTP ${failWith}`);
        return acrError(response, failWith, "UNAVAILABLE", "service unavailable");
      }
      const outcome = await step(request, response);
      calls.push(`${prefix}:${outcome}`);
      return outcome;
    })().catch(() => {
      if (!response.headersSent) acrError(response, 500, "INTERNAL_ERROR", "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  const registry = await startRegistry({ auth: { kind: "token", realm: `http://${host}/oauth2/token`, service: host, issuer: ACR_TOKEN_ISSUER, rootCertBundlePath: certPath } });
  forward = forwardTo(registry.url);
  const standIn: AcrStandIn = {
    url: `http://${host}`,
    host,
    registry,
    calls,
    failWith: undefined,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await registry.stop();
      removeDir(dir);
    },
  };
  self.standIn = standIn;
  return standIn;
}
