/**
 * `gar` mode: the Basic credential `oauth2accesstoken:<access token>` for Google
 * Artifact Registry.
 *
 * Keyless: GCP STS token exchange (RFC 8693) of a federation JWT, whose `aud` is
 * the workload identity pool provider's default audience
 * (`https://iam.googleapis.com/<provider>`), for a federated access token;
 * with GAR_SERVICE_ACCOUNT, that token then impersonates the service account
 * (iamcredentials `generateAccessToken`). Keyed: a service-account JSON key signs
 * an RS256 JWT-bearer grant (RFC 7523) at the key's `token_uri`.
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import { importPKCS8, SignJWT } from "jose";
import type { Env } from "../env.ts";
import { UpstreamError } from "../upstream-auth.ts";
import { endpointSetting, errorCode, expiresIn, FORM, jsonObject, stringMember } from "./answers.ts";
import type { CredentialSource, MintContext, MintedCredential } from "./credential-source.ts";
import { refused, stepFetch } from "./step-fetch.ts";

export const GAR_SETTING_NAMES = ["GAR_WORKLOAD_IDENTITY_PROVIDER", "GAR_SERVICE_ACCOUNT", "GAR_SERVICE_ACCOUNT_KEY", "GAR_STS_ENDPOINT", "GAR_IAM_CREDENTIALS_ENDPOINT"] as const satisfies readonly (keyof Env)[];
export const GCP_STS_STEP = "Google STS token exchange";
export const GCP_IMPERSONATION_STEP = "IAM Credentials generateAccessToken";
export const GCP_JWT_BEARER_STEP = "Google OAuth JWT-bearer grant";
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** A Google access token lasts an hour; asked for exactly that. */
const ACCESS_TOKEN_SECONDS = 3600;

const PROVIDER = /^(?:\/\/iam\.googleapis\.com\/)?(projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32})$/;
const SA_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|^[^@\s]+@[a-z0-9.-]+$/;

export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKeyId: string;
  readonly privateKeyPem: string;
  readonly tokenUri: URL;
}

export interface GarSettings {
  readonly identity:
    | { readonly kind: "keyless"; readonly provider: string; readonly stsEndpoint: URL; readonly serviceAccount?: string; readonly iamCredentialsEndpoint: URL }
    | { readonly kind: "keyed"; readonly key: ServiceAccountKey };
}

function value(env: Env, name: (typeof GAR_SETTING_NAMES)[number]): string {
  return (env[name] ?? "").trim();
}

/** A service-account JSON key as the console or `gcloud iam service-accounts keys create` writes it; errors never quote it. */
export function parseServiceAccountKey(raw: string): ServiceAccountKey {
  const name = "GAR_SERVICE_ACCOUNT_KEY";
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new SettingError(name, `${name} is not JSON (a service-account key file)`);
  }
  if (json === null || typeof json !== "object" || json["type"] !== "service_account") throw new SettingError(name, `${name} is not a service-account key ("type": "service_account")`);
  const member = (key: string): string => {
    const v = json[key];
    if (typeof v !== "string" || v === "") throw new SettingError(name, `${name} has no "${key}"`);
    return v;
  };
  const privateKeyPem = member("private_key");
  if (!privateKeyPem.includes("-----BEGIN PRIVATE KEY-----")) throw new SettingError(name, `${name}'s "private_key" is not a PKCS#8 PEM key`);
  let tokenUri: URL;
  try {
    tokenUri = new URL(member("token_uri"));
  } catch {
    throw new SettingError(name, `${name}'s "token_uri" is not a URL`);
  }
  if (tokenUri.protocol !== "https:" && tokenUri.protocol !== "http:") throw new SettingError(name, `${name}'s "token_uri" must be an http(s) URL`);
  return { clientEmail: member("client_email"), privateKeyId: member("private_key_id"), privateKeyPem, tokenUri };
}

export function parseGarSettings(env: Env, federation: { readonly subject: string } | undefined): GarSettings {
  const provider = value(env, "GAR_WORKLOAD_IDENTITY_PROVIDER");
  const serviceAccount = value(env, "GAR_SERVICE_ACCOUNT");
  const key = value(env, "GAR_SERVICE_ACCOUNT_KEY");
  if (key !== "") {
    if (provider !== "" || serviceAccount !== "") throw new SettingError("GAR_SERVICE_ACCOUNT_KEY", "set GAR_WORKLOAD_IDENTITY_PROVIDER (keyless) or GAR_SERVICE_ACCOUNT_KEY (keyed), not both");
    return { identity: { kind: "keyed", key: parseServiceAccountKey(key) } };
  }
  if (provider === "") throw new SettingError("GAR_WORKLOAD_IDENTITY_PROVIDER", "gar needs GAR_WORKLOAD_IDENTITY_PROVIDER (keyless) or GAR_SERVICE_ACCOUNT_KEY (keyed)");
  const match = PROVIDER.exec(provider);
  if (!match) throw new SettingError("GAR_WORKLOAD_IDENTITY_PROVIDER", "GAR_WORKLOAD_IDENTITY_PROVIDER is not projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>");
  if (serviceAccount !== "" && !SA_EMAIL.test(serviceAccount)) throw new SettingError("GAR_SERVICE_ACCOUNT", "GAR_SERVICE_ACCOUNT is not a service account email");
  if (!federation) throw new SettingError("FEDERATION_SIGNING_KEY", "keyless gar needs the proxy's federation issuer: set FEDERATION_SIGNING_KEY, FEDERATION_SUBJECT and PUBLIC_URL");
  return {
    identity: {
      kind: "keyless",
      provider: match[1] as string,
      stsEndpoint: endpointSetting("GAR_STS_ENDPOINT", env.GAR_STS_ENDPOINT, "https://sts.googleapis.com/v1/token"),
      ...(serviceAccount !== "" && { serviceAccount }),
      iamCredentialsEndpoint: endpointSetting("GAR_IAM_CREDENTIALS_ENDPOINT", env.GAR_IAM_CREDENTIALS_ENDPOINT, "https://iamcredentials.googleapis.com/"),
    },
  };
}

function basic(token: string, expiresAt: number): MintedCredential {
  return { authorization: `Basic ${btoa(`oauth2accesstoken:${token}`)}`, expiresAt };
}

/** An OAuth token answer (STS, JWT-bearer): access_token and expires_in, or the refusal's error code. */
async function oauthToken(ctx: MintContext, step: string, url: URL, body: URLSearchParams): Promise<MintedCredential> {
  const started = ctx.now();
  const answer = await stepFetch(ctx, step, url, { method: "POST", headers: FORM, body: body.toString() });
  const json = jsonObject(answer.text);
  if (answer.status !== 200) throw refused(step, answer.status, errorCode(json));
  const token = stringMember(json, "access_token");
  const expiresAt = expiresIn(json, started);
  if (token === undefined || expiresAt === undefined) throw new UpstreamError(502, `${step} answered without an access token`);
  return { authorization: token, expiresAt };
}

async function exchange(ctx: MintContext, identity: Extract<GarSettings["identity"], { kind: "keyless" }>): Promise<MintedCredential> {
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    audience: `//iam.googleapis.com/${identity.provider}`,
    scope: CLOUD_PLATFORM_SCOPE,
    requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    // The provider's default allowed audience: its full resource name as an https URL.
    subject_token: await ctx.federationToken(`https://iam.googleapis.com/${identity.provider}`),
  });
  return oauthToken(ctx, GCP_STS_STEP, identity.stsEndpoint, body);
}

async function impersonate(ctx: MintContext, endpoint: URL, serviceAccount: string, federated: string): Promise<MintedCredential> {
  const url = new URL(`v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`, endpoint);
  const answer = await stepFetch(ctx, GCP_IMPERSONATION_STEP, url, {
    method: "POST",
    headers: { Authorization: `Bearer ${federated}`, "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: `${ACCESS_TOKEN_SECONDS}s` }),
  });
  const json = jsonObject(answer.text);
  if (answer.status !== 200) throw refused(GCP_IMPERSONATION_STEP, answer.status, errorCode(json));
  const token = stringMember(json, "accessToken");
  const expireTime = Date.parse(stringMember(json, "expireTime") ?? "");
  if (token === undefined || Number.isNaN(expireTime)) throw new UpstreamError(502, `${GCP_IMPERSONATION_STEP} answered without an access token`);
  return basic(token, expireTime);
}

async function jwtBearer(ctx: MintContext, key: ServiceAccountKey): Promise<MintedCredential> {
  let privateKey: CryptoKey;
  try {
    privateKey = (await importPKCS8(key.privateKeyPem, "RS256")) as CryptoKey;
  } catch {
    throw new SettingError("GAR_SERVICE_ACCOUNT_KEY", "GAR_SERVICE_ACCOUNT_KEY's private_key is not an RSA PKCS#8 key");
  }
  const now = Math.floor(ctx.now() / 1000);
  const assertion = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.privateKeyId })
    .setIssuer(key.clientEmail)
    .setAudience(key.tokenUri.href)
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_SECONDS)
    .sign(privateKey);
  const minted = await oauthToken(ctx, GCP_JWT_BEARER_STEP, key.tokenUri, new URLSearchParams({ grant_type: JWT_BEARER, assertion }));
  return basic(minted.authorization, minted.expiresAt);
}

export function garSource(settings: GarSettings): CredentialSource {
  return {
    mode: "gar",
    perScope: false,
    async mint(ctx) {
      const identity = settings.identity;
      if (identity.kind === "keyed") return jwtBearer(ctx, identity.key);
      const federated = await exchange(ctx, identity);
      if (identity.serviceAccount === undefined) return basic(federated.authorization, federated.expiresAt);
      return impersonate(ctx, identity.iamCredentialsEndpoint, identity.serviceAccount, federated.authorization);
    },
  };
}
