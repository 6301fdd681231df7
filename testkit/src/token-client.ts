/**
 * What a registry client does on a 401, in plain `fetch`: read the Bearer
 * challenge, ask its realm for a token with Basic credentials (or a refresh
 * token), retry with the token. For requests no CLI client makes on its own
 * (`/v2/_catalog`) and for checking exactly what was granted.
 */
import { parseBearerChallenge, type BearerChallenge } from "@jwt-registry-auth/protocol";

export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}

export interface TokenRequest {
  readonly service: string;
  /** Each becomes one `scope` parameter (skopeo's form). */
  readonly scopes?: readonly string[];
  readonly credential?: BasicCredential;
  /** Extra query parameters, e.g. `{offline_token: "true", client_id: "docker"}` as `docker login` sends. */
  readonly params?: Readonly<Record<string, string>>;
}

export interface TokenResponse {
  readonly status: number;
  /** The parsed JSON body (token fields on 200, `{errors}` otherwise). */
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

function basic(credential: BasicCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
}

async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparsed: text.slice(0, 500) };
  }
}

/** `GET realm?service=…&scope=…` as docker and skopeo send it. */
export async function requestToken(realm: string, request: TokenRequest): Promise<TokenResponse> {
  const url = new URL(realm);
  if (request.credential) url.searchParams.append("account", request.credential.username);
  for (const [key, value] of Object.entries(request.params ?? {})) url.searchParams.append(key, value);
  for (const scope of request.scopes ?? []) url.searchParams.append("scope", scope);
  url.searchParams.append("service", request.service);
  const response = await fetch(url, { headers: request.credential ? { Authorization: basic(request.credential) } : {} });
  return { status: response.status, body: await jsonOf(response), headers: response.headers };
}

/** The OAuth2 form POST docker and skopeo send with a stored identity token. */
export async function refreshToken(realm: string, request: { service: string; refreshToken: string; scopes?: readonly string[]; clientId?: string }): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: request.refreshToken, service: request.service, client_id: request.clientId ?? "registry-client" });
  for (const scope of request.scopes ?? []) form.append("scope", scope);
  const response = await fetch(realm, { method: "POST", body: form });
  return { status: response.status, body: await jsonOf(response), headers: response.headers };
}

export interface AuthorizedResponse {
  /** The final registry response (after the token retry, if there was a challenge). */
  readonly response: Response;
  readonly challenge?: BearerChallenge;
  readonly token?: TokenResponse;
}

/**
 * Fetches a registry URL, answering a Bearer challenge with a token for the
 * challenge's own scope, like a client does. `init` is reused for the retry,
 * so it must not carry a one-shot body stream.
 */
export async function fetchWithRegistryAuth(url: string, credential: BasicCredential | undefined, init: RequestInit = {}): Promise<AuthorizedResponse> {
  const first = await fetch(url, init);
  const header = first.headers.get("www-authenticate");
  const challenge = first.status === 401 && header !== null ? parseBearerChallenge(header) : undefined;
  if (challenge === undefined) return { response: first };
  await first.body?.cancel();
  const token = await requestToken(challenge.realm, {
    service: challenge.service ?? "",
    scopes: challenge.scope === undefined ? [] : challenge.scope.split(" "),
    ...(credential && { credential }),
  });
  if (token.status !== 200 || typeof token.body["token"] !== "string") return { response: new Response(JSON.stringify(token.body), { status: token.status }), challenge, token };
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token.body["token"]}`);
  return { response: await fetch(url, { ...init, headers }), challenge, token };
}

/** The `access` claim of a registry token (read without verifying: for assertions only). */
export function grantedAccess(token: string): { type: string; name: string; actions: string[] }[] {
  const payload = token.split(".")[1];
  if (payload === undefined) throw new Error("not a JWT");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { access?: { type: string; name: string; actions: string[] }[] };
  return claims.access ?? [];
}
