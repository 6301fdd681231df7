/**
 * The registry auth proxy: stands in front of one upstream registry, enforces
 * the token server's registry tokens on every request, and forwards what they
 * allow with the upstream's own credentials.
 *
 *   request → route + required access (grammar-checked) → token verified and
 *   checked against that access → forwarded upstream, streaming → headers
 *   rewritten back to the proxy.
 */
import { errorResponse, internalErrorResponse, misconfiguredResponse, requiredAccess, SettingError, sha256Hex } from "@jwt-registry-auth/protocol";
import { authorize } from "./authorize.ts";
import { API_VERSION_HEADER, challengeResponse } from "./challenge.ts";
import type { Env } from "./env.ts";
import { forward } from "./forward.ts";
import { KeySourceError, verificationKeys, type VerificationKeys } from "./keys.ts";
import { logProxyRequest, type ProxyRequestLog } from "./log.ts";
import { loadSettings, type ProxySettings } from "./settings.ts";
import { prepareUpstream, type PreparedUpstream } from "./upstream/prepare.ts";

export type { Env } from "./env.ts";

interface Prepared extends PreparedUpstream {
  readonly keys: VerificationKeys;
}

const preparedFor = new WeakMap<ProxySettings, Prepared>();

/** What the settings imply, made once per settings read, so a request looks nothing up by key text or credentials. */
function prepare(settings: ProxySettings): Prepared {
  let prepared = preparedFor.get(settings);
  if (!prepared) {
    prepared = { keys: verificationKeys(settings.keySource), ...prepareUpstream(settings) };
    preparedFor.set(settings, prepared);
  }
  return prepared;
}

type Log = (entry: Omit<ProxyRequestLog, "requestId" | "method" | "durationMs">) => void;

async function handle(request: Request, env: Env, log: Log, requestId: string): Promise<Response> {
  let settings;
  try {
    settings = loadSettings(env);
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    log({ status: 500, reason: `setting ${error.setting}: ${error.message}` });
    return misconfiguredResponse("registry proxy", error.setting, { headers: API_VERSION_HEADER, requestId });
  }

  const url = new URL(request.url);
  // Outside the registry API: answers once the settings are valid, for health checks and `wrangler dev` readiness.
  if (url.pathname === "/healthz" && request.method === "GET") return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
  // The proxy as an OIDC issuer (FEDERATION_SIGNING_KEY): discovery and JWKS on its own origin, for the clouds.
  const issuerRoute = request.method === "GET" ? await prepare(settings).issuer?.serve(url.pathname) : undefined;
  if (issuerRoute) return issuerRoute;
  const access = requiredAccess(request.method, url.pathname, url.search, request.headers.get("Content-Type"));
  if (!access.ok) {
    log({ status: access.status, reason: access.code });
    return errorResponse(access.status, access.code, access.message, { headers: API_VERSION_HEADER, detail: { reason: access.code.toLowerCase() }, requestId });
  }
  const what = {
    endpoint: access.value.route.endpoint,
    ...(access.value.route.name !== undefined && { repository: access.value.route.name }),
    ...(access.value.route.mountFrom !== undefined && { mountFrom: access.value.route.mountFrom }),
  };

  let authorization;
  try {
    authorization = await authorize(request.headers.get("Authorization"), access.value.scopes, {
      issuer: settings.issuer,
      service: settings.service,
      keys: prepare(settings).keys,
    });
  } catch (error) {
    if (!(error instanceof KeySourceError)) throw error;
    log({ ...what, status: 503, reason: `verification keys: ${error.message}` });
    return errorResponse(503, "UNAVAILABLE", "registry-token verification keys are unavailable", { headers: API_VERSION_HEADER, detail: { reason: "keys_unavailable" }, requestId });
  }
  const who = authorization.outcome === "missing" ? {} : { tokenSha256: await sha256Hex(authorization.token) };
  if (authorization.outcome !== "granted") {
    // The verifier's words stay here; the client gets only the code.
    const reason = authorization.outcome === "invalid" ? `invalid_token: ${authorization.reason}: ${authorization.detail}` : authorization.outcome;
    log({ ...what, ...who, ...(authorization.outcome === "insufficient" && { subject: authorization.claims.sub }), status: 401, reason });
    return challengeResponse(settings, access.value.scopes, authorization, requestId);
  }

  const { response, upstreamStatus, failure } = await forward(request, {
    upstream: settings.upstream,
    auth: prepare(settings).auth,
    scopes: access.value.scopes,
    upstreamPath: access.value.upstreamPath,
    ...(settings.publicUrl && { publicUrl: settings.publicUrl }),
    allowInsecureRedirects: settings.allowInsecureRedirects,
    fetch: (input, init) => fetch(input, init),
    requestId,
  });
  log({ ...what, ...who, subject: authorization.claims.sub, status: response.status, ...(upstreamStatus !== undefined && { upstreamStatus }), ...(failure !== undefined && { reason: `upstream: ${failure}` }) });
  return response;
}

/** `response` with its X-Request-Id header (a response straight from fetch has immutable headers: it is re-wrapped, body still streaming). */
function withRequestId(response: Response, requestId: string): Response {
  if (response.headers.get("X-Request-Id") === requestId) return response;
  try {
    response.headers.set("X-Request-Id", requestId);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("X-Request-Id", requestId);
    return copy;
  }
}

/** Anything shaped like a JWT (a registry or upstream token) in an error message. */
const TOKEN_LIKE = /[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g;

/** An unexpected error for the log: its kind and message, bounded, with anything token-shaped cut out. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  return `${error.name}: ${error.message.replace(TOKEN_LIKE, "<redacted>").slice(0, 200)}`;
}

export default {
  async fetch(request, env): Promise<Response> {
    const started = Date.now();
    // Ties the client's answer (X-Request-Id, and an error body's detail.requestId) to the operator's log line.
    const requestId = crypto.randomUUID();
    const log: Log = (entry) => logProxyRequest({ requestId, method: request.method, durationMs: Date.now() - started, ...entry });
    try {
      return withRequestId(await handle(request, env, log, requestId), requestId);
    } catch (error) {
      // A setting found unusable only when used (FEDERATION_SIGNING_KEY is imported at first use): a 500 naming it.
      if (error instanceof SettingError) {
        log({ status: 500, reason: `setting ${error.setting}: ${error.message}` });
        return misconfiguredResponse("registry proxy", error.setting, { headers: API_VERSION_HEADER, requestId });
      }
      // Fails closed, as a registry error the client can read rather than the runtime's bare 500.
      log({ status: 500, reason: `internal error: ${describeError(error)}` });
      return internalErrorResponse("registry proxy", { headers: API_VERSION_HEADER, requestId });
    }
  },
} satisfies ExportedHandler<Env>;
