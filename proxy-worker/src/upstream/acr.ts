/**
 * `acr` mode: a scoped ACR access token (`Bearer …`) per request scope.
 *
 * Entra client credentials (keyless: the federation JWT for
 * `api://AzureADTokenExchange` as `client_assertion`; keyed: ACR_CLIENT_SECRET)
 * → an AAD access token for `https://containerregistry.azure.net/.default` →
 * ACR `POST /oauth2/exchange` → an ACR refresh token, kept in this source until
 * shortly before its `exp` → per scope `POST /oauth2/token` → an access token
 * (Azure/acr docs/AAD-OAuth.md).
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import type { Env } from "../env.ts";
import { UpstreamError } from "../upstream-auth.ts";
import { endpointSetting, errorCode, FORM, jsonObject, jwtExpiresAt, stringMember } from "./answers.ts";
import type { CredentialSource, MintContext } from "./credential-source.ts";
import { renewalMarginMs } from "./minted-auth.ts";
import { refused, stepFetch } from "./step-fetch.ts";

export const ACR_SETTING_NAMES = ["ACR_TENANT_ID", "ACR_CLIENT_ID", "ACR_CLIENT_SECRET", "ACR_LOGIN_ENDPOINT"] as const satisfies readonly (keyof Env)[];
export const ENTRA_STEP = "Entra client-credentials grant";
export const ACR_EXCHANGE_STEP = "ACR /oauth2/exchange";
export const ACR_TOKEN_STEP = "ACR /oauth2/token";
/** The audience Entra requires of a federated credential's assertion. */
export const ENTRA_FEDERATION_AUDIENCE = "api://AzureADTokenExchange";
export const ACR_AAD_SCOPE = "https://containerregistry.azure.net/.default";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

export interface AcrSettings {
  /** The registry (UPSTREAM_URL): its origin serves /oauth2/*, its host is ACR's `service`. */
  readonly registry: URL;
  readonly tenant: string;
  readonly clientId: string;
  /** The tenant's token endpoint. */
  readonly tokenEndpoint: URL;
  readonly identity: { readonly kind: "keyless" } | { readonly kind: "keyed"; readonly clientSecret: string };
}

export function parseAcrSettings(env: Env, upstream: URL, federation: { readonly subject: string } | undefined): AcrSettings {
  const tenant = (env.ACR_TENANT_ID ?? "").trim();
  const clientId = (env.ACR_CLIENT_ID ?? "").trim();
  const clientSecret = env.ACR_CLIENT_SECRET ?? "";
  if (tenant === "") throw new SettingError("ACR_TENANT_ID", "acr needs ACR_TENANT_ID (the Entra tenant of the app registration)");
  if (!TENANT.test(tenant)) throw new SettingError("ACR_TENANT_ID", "ACR_TENANT_ID is not a tenant id (GUID) or domain");
  if (clientId === "") throw new SettingError("ACR_CLIENT_ID", "acr needs ACR_CLIENT_ID (the app registration's application id)");
  if (!GUID.test(clientId)) throw new SettingError("ACR_CLIENT_ID", "ACR_CLIENT_ID is not an application (client) id GUID");
  const login = endpointSetting("ACR_LOGIN_ENDPOINT", env.ACR_LOGIN_ENDPOINT, "https://login.microsoftonline.com/");
  const tokenEndpoint = new URL(`${encodeURIComponent(tenant)}/oauth2/v2.0/token`, login.href.endsWith("/") ? login : `${login.href}/`);
  if (clientSecret === "" && !federation) {
    throw new SettingError("FEDERATION_SIGNING_KEY", "keyless acr needs the proxy's federation issuer (FEDERATION_SIGNING_KEY, FEDERATION_SUBJECT, PUBLIC_URL), or set ACR_CLIENT_SECRET (keyed)");
  }
  return {
    registry: new URL(upstream.origin),
    tenant,
    clientId,
    tokenEndpoint,
    identity: clientSecret === "" ? { kind: "keyless" } : { kind: "keyed", clientSecret },
  };
}

/** Entra → AAD access token for ACR. */
async function aadToken(ctx: MintContext, settings: AcrSettings): Promise<string> {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: settings.clientId, scope: ACR_AAD_SCOPE });
  if (settings.identity.kind === "keyed") body.set("client_secret", settings.identity.clientSecret);
  else {
    body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    body.set("client_assertion", await ctx.federationToken(ENTRA_FEDERATION_AUDIENCE));
  }
  const answer = await stepFetch(ctx, ENTRA_STEP, settings.tokenEndpoint, { method: "POST", headers: FORM, body: body.toString() });
  const json = jsonObject(answer.text);
  if (answer.status !== 200) throw refused(ENTRA_STEP, answer.status, errorCode(json));
  const token = stringMember(json, "access_token");
  if (token === undefined) throw new UpstreamError(502, `${ENTRA_STEP} answered without an access token`);
  return token;
}

/** One ACR /oauth2/* form POST answering `{member: <JWT>}`: the token and its `exp`. */
async function acrPost(ctx: MintContext, step: string, url: URL, body: URLSearchParams, member: string): Promise<{ token: string; expiresAt: number }> {
  const answer = await stepFetch(ctx, step, url, { method: "POST", headers: FORM, body: body.toString() });
  const json = jsonObject(answer.text);
  if (answer.status !== 200) throw refused(step, answer.status, errorCode(json));
  const token = stringMember(json, member);
  const expiresAt = token === undefined ? undefined : jwtExpiresAt(token);
  if (token === undefined || expiresAt === undefined) throw new UpstreamError(502, `${step} answered without a ${member.replace("_", " ")}`);
  return { token, expiresAt };
}

export function acrSource(settings: AcrSettings): CredentialSource {
  const service = settings.registry.host;
  let refresh: { token: string; renewAt: number } | undefined;
  let refreshInflight: Promise<string> | undefined;

  async function exchange(ctx: MintContext): Promise<string> {
    const started = ctx.now();
    const aad = await aadToken(ctx, settings);
    const body = new URLSearchParams({ grant_type: "access_token", service, tenant: settings.tenant, access_token: aad });
    const minted = await acrPost(ctx, ACR_EXCHANGE_STEP, new URL("/oauth2/exchange", settings.registry), body, "refresh_token");
    refresh = { token: minted.token, renewAt: minted.expiresAt - renewalMarginMs(minted.expiresAt - started) };
    return minted.token;
  }

  /** The cached ACR refresh token; concurrent scopes missing it share one exchange. */
  function refreshToken(ctx: MintContext): Promise<string> {
    if (refresh && ctx.now() < refresh.renewAt) return Promise.resolve(refresh.token);
    refreshInflight ??= exchange(ctx).finally(() => {
      refreshInflight = undefined;
    });
    return refreshInflight;
  }

  return {
    mode: "acr",
    perScope: true,
    async mint(ctx, scopes) {
      const body = new URLSearchParams({ grant_type: "refresh_token", service, refresh_token: await refreshToken(ctx) });
      // Docker's OAuth2 token spec: one `scope` form value, space-delimited.
      if (scopes.length > 0) body.set("scope", scopes.join(" "));
      try {
        const minted = await acrPost(ctx, ACR_TOKEN_STEP, new URL("/oauth2/token", settings.registry), body, "access_token");
        return { authorization: `Bearer ${minted.token}`, expiresAt: minted.expiresAt };
      } catch (error) {
        // A refresh token ACR no longer takes (revoked, role removed) is not kept for the next mint.
        if (error instanceof UpstreamError && error.upstreamStatus === 401) refresh = undefined;
        throw error;
      }
    },
  };
}
