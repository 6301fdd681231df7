/**
 * The proxy's settings, read from wrangler vars, secrets and bindings. A missing
 * or invalid setting fails every request with a 500 naming the setting: the
 * proxy never runs half-configured (no default realm, issuer or key source).
 */
import { booleanSetting, SettingError } from "@jwt-registry-auth/protocol";
import { settingsReader } from "@jwt-registry-auth/protocol/settings-reader";
import type { Env } from "./env.ts";
import { SETTING_NAMES } from "./setting-names.ts";
import type { KeySource } from "./keys.ts";
import type { FederationSettings } from "./upstream/federation.ts";
import { parseUpstreamAuth, type UpstreamAuthSetting } from "./upstream/modes.ts";

export interface UpstreamCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ProxySettings {
  /** The upstream's base URL; its API is under `/v2/` below it (see {@link upstreamApiUrl}). */
  readonly upstream: URL;
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly keySource: KeySource;
  readonly credentials?: UpstreamCredentials;
  /**
   * Where clients reach the proxy (PUBLIC_URL): rewritten `Location`/`Link`s and
   * `X-Forwarded-*` are built from it. Unset, rewritten URLs are root-relative
   * (the client resolves them against the URL it used) and the upstream is told
   * its own address. Never the request's `Host`: under workerd that is the client's.
   */
  readonly publicUrl?: URL;
  /** Send upstream credentials to an http realm on another origin (UPSTREAM_ALLOW_INSECURE_REALM). */
  readonly allowInsecureRealm: boolean;
  /** Pass upstream redirects to http or internal addresses to clients (UPSTREAM_ALLOW_INSECURE_REDIRECTS). */
  readonly allowInsecureRedirects: boolean;
  /** UPSTREAM_AUTH: the learnt scheme or a cloud credential source (upstream/modes.ts). */
  readonly upstreamAuth: UpstreamAuthSetting;
  /** The proxy as an OIDC issuer (FEDERATION_SIGNING_KEY): set, it serves discovery and JWKS and signs federation JWTs. */
  readonly federation?: FederationSettings;
}

function required(env: Env, setting: "UPSTREAM_URL" | "TOKEN_REALM" | "TOKEN_SERVICE" | "TOKEN_ISSUER", why: string): string {
  const value = (env[setting] ?? "").trim();
  if (value === "") throw new SettingError(setting, `${setting} is not set: ${why}`);
  return value;
}

function httpUrl(setting: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingError(setting, `${setting} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new SettingError(setting, `${setting} must be an http(s) URL`);
  if (url.username !== "" || url.password !== "") throw new SettingError(setting, `${setting} must not carry credentials (use UPSTREAM_USERNAME/UPSTREAM_PASSWORD)`);
  if (url.search !== "" || url.hash !== "") throw new SettingError(setting, `${setting} must not have a query or fragment`);
  return url;
}

function canParseUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function keySource(env: Env): KeySource {
  const configured = (["TOKEN_JWKS", "TOKEN_CERTS", "TOKEN_JWKS_URL"] as const).filter((s) => (env[s] ?? "").trim() !== "");
  if (configured.length > 1) throw new SettingError(configured[1] as string, `set only one of ${configured.join(", ")}`);
  switch (configured[0]) {
    case "TOKEN_JWKS":
      return { kind: "jwks", jwks: env.TOKEN_JWKS as string };
    case "TOKEN_CERTS":
      return { kind: "pem", pem: env.TOKEN_CERTS as string };
    case "TOKEN_JWKS_URL":
      return { kind: "url", url: httpUrl("TOKEN_JWKS_URL", (env.TOKEN_JWKS_URL as string).trim()).href };
    default:
      if (env.TOKEN_SERVER === undefined) {
        throw new SettingError("TOKEN_SERVER", "no verification keys: bind TOKEN_SERVER to the token server, or set TOKEN_JWKS_URL, TOKEN_JWKS or TOKEN_CERTS");
      }
      return { kind: "binding", fetcher: env.TOKEN_SERVER };
  }
}

function credentials(env: Env): UpstreamCredentials | undefined {
  const username = env.UPSTREAM_USERNAME ?? "";
  const password = env.UPSTREAM_PASSWORD ?? "";
  if (username === "" && password === "") return undefined;
  if (username === "" || password === "") throw new SettingError(username === "" ? "UPSTREAM_USERNAME" : "UPSTREAM_PASSWORD", "set both UPSTREAM_USERNAME and UPSTREAM_PASSWORD, or neither");
  if (username.includes(":")) throw new SettingError("UPSTREAM_USERNAME", "UPSTREAM_USERNAME cannot contain ':' (Basic auth)");
  return { username, password };
}

function publicUrl(env: Env): URL | undefined {
  const raw = (env.PUBLIC_URL ?? "").trim();
  if (raw === "") return undefined;
  const url = httpUrl("PUBLIC_URL", raw);
  if (url.pathname !== "/") throw new SettingError("PUBLIC_URL", "PUBLIC_URL must be an origin (the proxy serves /v2/ at its root)");
  return url;
}

function federation(env: Env, pub: URL | undefined): FederationSettings | undefined {
  const keyPem = (env.FEDERATION_SIGNING_KEY ?? "").trim();
  const subject = (env.FEDERATION_SUBJECT ?? "").trim();
  if (keyPem === "") {
    if (subject !== "") throw new SettingError("FEDERATION_SIGNING_KEY", "FEDERATION_SUBJECT is set but FEDERATION_SIGNING_KEY is not");
    return undefined;
  }
  if (!pub) throw new SettingError("PUBLIC_URL", "FEDERATION_SIGNING_KEY needs PUBLIC_URL: it is the issuer URL clouds fetch discovery and keys from");
  if (subject === "") throw new SettingError("FEDERATION_SUBJECT", "FEDERATION_SUBJECT is not set: it is the sub of the proxy's federation JWTs, which cloud trust policies pin");
  if (!/^[\x21-\x7e]{1,255}$/.test(subject)) throw new SettingError("FEDERATION_SUBJECT", "FEDERATION_SUBJECT must be 1 to 255 printable ASCII characters without spaces");
  return { issuer: pub.origin, subject, keyPem };
}

function flag(env: Env, setting: "UPSTREAM_ALLOW_INSECURE_REALM" | "UPSTREAM_ALLOW_INSECURE_REDIRECTS"): boolean {
  return booleanSetting(setting, env[setting], false);
}

export function readSettings(env: Env): ProxySettings {
  const upstream = httpUrl("UPSTREAM_URL", required(env, "UPSTREAM_URL", "it names the registry this proxy fronts"));
  const realm = required(env, "TOKEN_REALM", "clients are sent there for tokens");
  if (!/^https?:\/\/[^\s"]+$/.test(realm) || !canParseUrl(realm)) throw new SettingError("TOKEN_REALM", "TOKEN_REALM must be an http(s) URL");
  const creds = credentials(env);
  const pub = publicUrl(env);
  const fed = federation(env, pub);
  const upstreamAuth = parseUpstreamAuth({ env, upstream, ...(fed && { federation: fed }) }, creds !== undefined);
  return {
    upstream,
    realm,
    service: required(env, "TOKEN_SERVICE", "tokens must be issued for this service"),
    issuer: required(env, "TOKEN_ISSUER", "it must equal the token server's TOKEN_ISSUER"),
    keySource: keySource(env),
    ...(creds && { credentials: creds }),
    ...(pub && { publicUrl: pub }),
    allowInsecureRealm: flag(env, "UPSTREAM_ALLOW_INSECURE_REALM"),
    allowInsecureRedirects: flag(env, "UPSTREAM_ALLOW_INSECURE_REDIRECTS"),
    upstreamAuth,
    ...(fed && { federation: fed }),
  };
}


export { SETTING_NAMES };

/** {@link readSettings} once per isolate and settings change, not once per request (protocol/src/settings-reader.ts). */
export const loadSettings = settingsReader<Env, ProxySettings>(SETTING_NAMES, readSettings);

/** `path` (`/v2/…`, with its query) on the upstream, below the upstream URL's own path if it has one. */
export function upstreamApiUrl(upstream: URL, path: string): URL {
  return new URL(`${upstream.origin}${upstream.pathname.replace(/\/+$/, "")}${path}`);
}
