/**
 * Reads a token request in every form real clients send (see
 * docs/client-traffic.md):
 *   GET  /token?service=…&scope=…&offline_token=true   with Basic provider:jwt
 *   POST /token  grant_type=password  username/password (or Basic), access_type=offline
 *   POST /token  grant_type=refresh_token  refresh_token=…   (docker joins scopes with
 *                spaces in one field; skopeo repeats `scope`)
 */
import { parseScopes, readCapped, ScopeError, type ResourceScope, type Result } from "@jwt-registry-auth/protocol";

export type TokenRequest =
  | {
      readonly grant: "password";
      readonly provider: string;
      readonly token: string;
      readonly service: string;
      readonly scopes: readonly ResourceScope[];
      readonly offline: boolean;
      readonly clientId?: string;
    }
  | {
      readonly grant: "refresh_token";
      readonly refreshToken: string;
      readonly service: string;
      readonly scopes: readonly ResourceScope[];
      readonly clientId?: string;
    };

export type RequestProblem =
  | { readonly kind: "no_credentials" }
  | { readonly kind: "bad_credentials"; readonly message: string }
  | { readonly kind: "bad_request"; readonly message: string }
  | { readonly kind: "too_large" };

export type ParsedRequest = Result<TokenRequest, { readonly problem: RequestProblem }>;

/** Bigger than any workload JWT plus scopes; the identity check has its own, tighter, token limit. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Caps on the policy work one request can ask for: authz runs once per
 * (scope, action). Real clients send one or two scopes of one or two actions
 * (docs/client-traffic.md: skopeo's cross-repo push is the most);
 * Distribution's actions are pull, push, delete and `*`.
 */
export const MAX_SCOPES_PER_REQUEST = 32;
export const MAX_ACTIONS_PER_SCOPE = 8;
/**
 * Form fields that carry (or select) a credential. On a POST they come only from
 * the body or Authorization: a URL, query included, ends up in access logs.
 */
const CREDENTIAL_PARAMS = ["username", "password", "refresh_token", "grant_type", "access_token", "client_secret"] as const;
const MAX_SERVICE_LENGTH = 255;
const SERVICE = /^[\x21-\x7e]+$/;

const fail = (problem: RequestProblem): ParsedRequest => ({ ok: false, problem });

/** Decodes `Authorization: Basic …` strictly; anything else is `bad_credentials`, never an exception. */
export function parseBasicAuth(header: string | null): { username: string; password: string } | RequestProblem {
  if (header === null) return { kind: "no_credentials" };
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match) return { kind: "bad_credentials", message: "Authorization must be Basic base64(provider:token)" };
  let decoded: string;
  try {
    // A plain loop: Uint8Array.from(binary, callback) over the ~2.3 KB header was 25-30% of a warm request's CPU (issue 12).
    const binary = atob(match[1] as string);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { kind: "bad_credentials", message: "Authorization is not valid base64 of UTF-8 text" };
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0) return { kind: "bad_credentials", message: "Basic credentials must be provider:token" };
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readForm(request: Request): Promise<URLSearchParams | RequestProblem> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    return { kind: "bad_request", message: "POST body must be application/x-www-form-urlencoded" };
  }
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) return { kind: "too_large" };
  // Read with a cap, so a body without (or lying about) Content-Length can't exhaust memory.
  const body = await readCapped(request.body, MAX_BODY_BYTES);
  if (body === undefined) return { kind: "too_large" };
  return new URLSearchParams(new TextDecoder().decode(body));
}

function isProblem(value: unknown): value is RequestProblem {
  return typeof value === "object" && value !== null && "kind" in value;
}

function single(params: URLSearchParams, name: string): string | undefined | RequestProblem {
  const values = params.getAll(name);
  if (values.length > 1) return { kind: "bad_request", message: `${name} given more than once` };
  return values[0];
}

function scopeCapProblem(scopes: readonly ResourceScope[]): RequestProblem | undefined {
  if (scopes.length > MAX_SCOPES_PER_REQUEST) {
    return { kind: "bad_request", message: `${scopes.length} scopes in one request: at most ${MAX_SCOPES_PER_REQUEST} are allowed` };
  }
  const wide = scopes.find((s) => s.actions.length > MAX_ACTIONS_PER_SCOPE);
  if (wide !== undefined) {
    return { kind: "bad_request", message: `scope ${wide.type}:${wide.name} asks for ${wide.actions.length} actions: at most ${MAX_ACTIONS_PER_SCOPE} per scope are allowed` };
  }
  return undefined;
}

export async function parseTokenRequest(request: Request): Promise<ParsedRequest> {
  const url = new URL(request.url);
  let params: URLSearchParams;
  if (request.method === "POST") {
    const form = await readForm(request);
    if (isProblem(form)) return fail(form);
    const inQuery = [...url.searchParams.keys()].find((name) => (CREDENTIAL_PARAMS as readonly string[]).includes(name));
    if (inQuery !== undefined) {
      return fail({ kind: "bad_request", message: `${inQuery} must not be in the URL query of a POST: credentials go in the form body or the Authorization header` });
    }
    // Other query parameters still count on a POST (some clients put service there).
    for (const [k, v] of url.searchParams) form.append(k, v);
    params = form;
  } else {
    params = url.searchParams;
  }

  const service = single(params, "service");
  if (isProblem(service)) return fail(service);
  if (service === undefined || service === "") return fail({ kind: "bad_request", message: "service is required" });
  if (service.length > MAX_SERVICE_LENGTH || !SERVICE.test(service)) return fail({ kind: "bad_request", message: "service is not a valid service name" });

  let scopes: ResourceScope[];
  try {
    scopes = parseScopes(params.getAll("scope"));
  } catch (error) {
    if (error instanceof ScopeError) {
      // The parser stops counting at its own, higher, bound; the rule to state is ours.
      const message = error.code === "SCOPE_TOO_MANY" ? `${error.message}: at most ${MAX_SCOPES_PER_REQUEST} are allowed` : error.message;
      return fail({ kind: "bad_request", message });
    }
    throw error;
  }
  const tooMuch = scopeCapProblem(scopes);
  if (tooMuch !== undefined) return fail(tooMuch);

  const clientIdValue = single(params, "client_id");
  if (isProblem(clientIdValue)) return fail(clientIdValue);
  const clientId = clientIdValue === undefined ? {} : { clientId: clientIdValue.slice(0, 64) };

  const grantType = request.method === "POST" ? single(params, "grant_type") : "password";
  if (isProblem(grantType)) return fail(grantType);

  if (grantType === "refresh_token") {
    const refreshToken = single(params, "refresh_token");
    if (isProblem(refreshToken)) return fail(refreshToken);
    if (refreshToken === undefined || refreshToken === "") return fail({ kind: "bad_credentials", message: "refresh_token is required" });
    return { ok: true, value: { grant: "refresh_token", refreshToken, service, scopes, ...clientId } };
  }
  if (grantType !== "password" && grantType !== undefined) {
    return fail({ kind: "bad_request", message: "grant_type must be password or refresh_token" });
  }

  // Credentials: Basic header first (what every registry client sends), then form fields.
  let username: string | undefined;
  let password: string | undefined;
  const basic = parseBasicAuth(request.headers.get("Authorization"));
  if ("username" in basic) {
    ({ username, password } = basic);
  } else if (basic.kind !== "no_credentials") {
    return fail(basic);
  } else if (request.method === "POST") {
    const u = single(params, "username");
    const p = single(params, "password");
    if (isProblem(u)) return fail(u);
    if (isProblem(p)) return fail(p);
    username = u;
    password = p;
  }
  if (username === undefined || password === undefined || username === "" || password === "") return fail({ kind: "no_credentials" });

  const offline = params.get("offline_token") === "true" || params.get("access_type") === "offline";
  return { ok: true, value: { grant: "password", provider: username, token: password, service, scopes, offline, ...clientId } };
}
