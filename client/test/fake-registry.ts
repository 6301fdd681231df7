/**
 * A registry and its token server on loopback, speaking the real protocol on
 * the wire, for the Action's login tests. `/v2/` without credentials answers
 * 401 with `WWW-Authenticate: Bearer realm="…",service="…"`; with a Bearer
 * token it answers 200 only for a token its token server issued for the
 * registry's service. The token endpoint answers what docker sends: the
 * offline-token GET and password GET with Basic, and the refresh-token POST.
 */
import { startTestServer, type RecordedRequest, type Reply, type TestServer } from "./http-server.ts";

export interface FakeTokenServer extends TestServer {
  /** Registry tokens issued so far, with the service each was issued for. */
  readonly issued: Map<string, string>;
  /** The token endpoint URL. */
  readonly tokenUrl: string;
}

export interface TokenServerOptions {
  /** Issued on `offline_token=true` and accepted on `grant_type=refresh_token`; absent: refresh tokens are off. */
  readonly refreshToken?: string;
}

export interface RegistryOptions extends TokenServerOptions {
  /** The service the registry names in its challenge and requires its tokens to be for. */
  readonly service?: string;
  /** A token server elsewhere; by default the registry serves one itself at `/token`. */
  readonly tokenServer?: FakeTokenServer;
  /** The challenge's realm; default: the token server's endpoint. */
  readonly realm?: string;
  /** `none`: 401 without `WWW-Authenticate`, a challenge that cannot be read. */
  readonly challenge?: "bearer" | "none";
  /** Refuse every token with this message, as a registry that does not trust the token server's key. */
  readonly refuse?: string;
}

export interface FakeRegistry extends TestServer {
  /** `127.0.0.1:port`, the docker config key. */
  readonly host: string;
  readonly service: string;
  readonly tokenServer: FakeTokenServer;
}

const unauthorized = (message: string, headers: Record<string, string> = {}): Reply => ({ status: 401, headers, body: { errors: [{ code: "UNAUTHORIZED", message, detail: null }] } });

function tokenHandler(issued: Map<string, string>, options: TokenServerOptions): (request: RecordedRequest) => Reply {
  return (request) => {
    const params = request.method === "POST" ? new URLSearchParams(request.body) : request.url.searchParams;
    const service = params.get("service");
    if (service === null || service === "") return { status: 400, body: { errors: [{ code: "DENIED", message: "service is required" }] } };
    let refresh: string | undefined;
    if (request.method === "POST") {
      if (params.get("grant_type") !== "refresh_token") return { status: 400, body: { error: "unsupported_grant_type" } };
      if (options.refreshToken === undefined || params.get("refresh_token") !== options.refreshToken) return unauthorized("refresh token not valid");
    } else {
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")?.[1];
      const [user, password] = Buffer.from(basic ?? "", "base64").toString("utf8").split(":");
      if (!user || !password) return unauthorized("authentication required");
      if (params.get("offline_token") === "true") refresh = options.refreshToken;
    }
    const token = `registry-token-${issued.size + 1}`;
    issued.set(token, service);
    return {
      status: 200,
      headers: { "Cache-Control": "no-store" },
      body: { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString(), ...(refresh !== undefined && { refresh_token: refresh }) },
    };
  };
}

export async function startFakeTokenServer(options: TokenServerOptions = {}): Promise<FakeTokenServer> {
  const issued = new Map<string, string>();
  const handle = tokenHandler(issued, options);
  const server = await startTestServer((request) => (request.url.pathname === "/token" ? handle(request) : { status: 404 }));
  return { ...server, issued, tokenUrl: `${server.url}/token` };
}

export async function startFakeRegistry(options: RegistryOptions = {}): Promise<FakeRegistry> {
  const service = options.service ?? "test-registry";
  const ownIssued = new Map<string, string>();
  const ownTokens = tokenHandler(ownIssued, options);
  const issued = options.tokenServer?.issued ?? ownIssued;
  const server = await startTestServer((request, origin) => {
    if (request.url.pathname === "/token" && !options.tokenServer) return ownTokens(request);
    if (request.url.pathname !== "/v2/") return { status: 404, body: { errors: [{ code: "NOT_FOUND", message: "not found" }] } };
    const realm = options.realm ?? options.tokenServer?.tokenUrl ?? `${origin}/token`;
    const challenge = `Bearer realm="${realm}",service="${service}"`;
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    if (bearer === undefined) return options.challenge === "none" ? unauthorized("authentication required") : unauthorized("authentication required", { "WWW-Authenticate": challenge });
    if (options.refuse !== undefined || issued.get(bearer) !== service) {
      return unauthorized(options.refuse ?? "invalid token", { "WWW-Authenticate": `${challenge},error="invalid_token"` });
    }
    return { status: 200, headers: { "Docker-Distribution-Api-Version": "registry/2.0" }, body: {} };
  });
  const tokenServer: FakeTokenServer = options.tokenServer ?? { ...server, issued: ownIssued, tokenUrl: `${server.url}/token` };
  return { ...server, host: new URL(server.url).host, service, tokenServer };
}
