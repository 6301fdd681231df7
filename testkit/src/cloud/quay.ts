/**
 * Local stand-in for Quay (quay.io, Red Hat Quay ≥ 3.13) with robot-account
 * identity federation, on one loopback origin as Quay serves both:
 *
 * - `GET /oauth2/federation/robot/token` with `Authorization: Basic
 *   <org>+<robot>:<federation JWT>`: the robot must exist; the JWT is
 *   verified as Quay does — its `iss` must be one of the robot's federation
 *   configs, discovery and JWKS fetched from that issuer, signature, `aud`
 *   (Quay's own host by default), `exp` — and its `sub` must be the subject
 *   that config names. Answers `{"token": …}`; refusals 401 `{"error": …}`.
 * - everything else (the registry API) is forwarded unchanged to a real
 *   Distribution whose htpasswd holds `<robot>:<the token handed out>`, so a
 *   client that did not mint the token is refused by the registry itself.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyFederationJwt } from "./federation-verifier.ts";
import { forwardTo } from "./forward.ts";

/** One of a robot's federation configs (Quay's UI: "Set robot federation"). */
export interface QuayFederationConfig {
  readonly issuer: string;
  readonly subject: string;
}

export interface QuayStandInOptions {
  /** The registry the API is forwarded to (`http://127.0.0.1:PORT`). */
  readonly registryUrl: string;
  /** Robot `<org>+<name>` → its federation configs (mutable, so tests can change them). */
  readonly robots: Record<string, QuayFederationConfig[]>;
  /** What the federation endpoint hands out, and the registry's htpasswd holds as the robot's password. */
  readonly robotToken: string;
  /** The `aud` Quay requires; default the stand-in's own host (`127.0.0.1:PORT`, SERVER_HOSTNAME). */
  readonly audience?: string;
  /** Quay's clock (epoch ms). */
  readonly now?: () => number;
}

export interface QuayStandIn {
  readonly url: string;
  readonly host: string;
  /** Federation calls answered: "federation:ok", "federation:<refusal>", "federation:HTTP 503". */
  readonly calls: string[];
  /** Refuse federation calls with this HTTP status (503: an outage). */
  failWith: number | undefined;
  close(): Promise<void>;
}

function refuse(response: ServerResponse, status: number, error: string, description: string): string {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify({ error, error_description: description }));
  return error;
}

/** `Basic base64(user:password)` split at the first colon, or undefined. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "")?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 1 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function startQuayStandIn(options: QuayStandInOptions): Promise<QuayStandIn> {
  const now = options.now ?? (() => Date.now());
  const calls: string[] = [];

  async function federation(request: IncomingMessage, response: ServerResponse, host: string): Promise<string> {
    if (request.method !== "GET") return refuse(response, 405, "method_not_allowed", "Method not allowed.");
    const credentials = basicCredentials(request.headers.authorization);
    if (!credentials) return refuse(response, 401, "unauthorized", "Missing or malformed Basic authorization.");
    const configs = options.robots[credentials.user];
    if (!configs) return refuse(response, 401, "unauthorized", "Robot account not found.");
    const verdict = await verifyFederationJwt(credentials.password, options.audience ?? host, { issuers: () => configs.map((c) => c.issuer), now });
    if (!verdict.ok) return refuse(response, 401, "unauthorized", `Federated token rejected: ${verdict.refusal}`);
    if (!configs.some((c) => c.issuer === verdict.claims.iss && c.subject === verdict.claims.sub)) return refuse(response, 401, "unauthorized", "Subject does not match the robot's federation configuration.");
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ token: options.robotToken }));
    return "ok";
  }

  const forward = forwardTo(options.registryUrl);

  const standIn: QuayStandIn = { url: "", host: "", calls, failWith: undefined, close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (path !== "/oauth2/federation/robot/token") return forward(request, response);
    void (async () => {
      if (standIn.failWith !== undefined) {
        calls.push(`federation:HTTP ${standIn.failWith}`);
        return refuse(response, standIn.failWith, "service_unavailable", "The service is currently unavailable.");
      }
      const outcome = await federation(request, response, standIn.host);
      calls.push(`federation:${outcome}`);
      return outcome;
    })().catch(() => {
      if (!response.headersSent) refuse(response, 500, "internal_error", "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(standIn, { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` });
  return standIn;
}
