/** The acr source inside workerd, against answers shaped as Entra and ACR document them (Azure/acr docs/AAD-OAuth.md). */
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { acrSource, ACR_AAD_SCOPE, parseAcrSettings } from "./acr.ts";
import { cloudContext, failure, refusedSetting, hang, jwtWithExp, NOW, type Answer, type SeenRequest } from "./cloud-test-context.ts";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "11111111-2222-3333-4444-555555555555";
const UPSTREAM = new URL("https://acme.azurecr.io");
const ENTRA = `login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`;
const EXCHANGE = "acme.azurecr.io/oauth2/exchange";
const TOKEN = "acme.azurecr.io/oauth2/token";
const KEYLESS: Env = { ACR_TENANT_ID: TENANT, ACR_CLIENT_ID: CLIENT };

const entraOk: Answer = () => Response.json({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: "aad-access-token" });
const exchangeOk: Answer = () => Response.json({ refresh_token: jwtWithExp(NOW + 3 * 3600_000) });
const tokenOk: Answer = (r) => Response.json({ access_token: jwtWithExp(NOW + 75 * 60_000, { scope: new URLSearchParams(r.body).get("scope") }) });

function settingError(env: Env, withFederation = true): string {
  return refusedSetting(() => parseAcrSettings(env, UPSTREAM, withFederation ? { subject: "proxy-prod" } : undefined));
}

describe("acr settings", () => {
  it("names the setting that is missing or malformed", () => {
    expect(settingError({ ACR_CLIENT_ID: CLIENT })).toBe("ACR_TENANT_ID");
    expect(settingError({ ACR_TENANT_ID: "not a tenant", ACR_CLIENT_ID: CLIENT })).toBe("ACR_TENANT_ID");
    expect(settingError({ ACR_TENANT_ID: TENANT })).toBe("ACR_CLIENT_ID");
    expect(settingError({ ACR_TENANT_ID: TENANT, ACR_CLIENT_ID: "acme-app" })).toBe("ACR_CLIENT_ID");
    expect(settingError(KEYLESS)).toBe("valid");
    expect(settingError({ ACR_TENANT_ID: "acme.onmicrosoft.com", ACR_CLIENT_ID: CLIENT })).toBe("valid");
    expect(settingError(KEYLESS, false)).toBe("FEDERATION_SIGNING_KEY");
    expect(settingError({ ...KEYLESS, ACR_CLIENT_SECRET: "s3cret" }, false)).toBe("valid");
    expect(settingError({ ...KEYLESS, ACR_LOGIN_ENDPOINT: "nope" })).toBe("ACR_LOGIN_ENDPOINT");
  });
});

describe("acr source", () => {
  it("keyless: client assertion at Entra, exchange for a refresh token, then one access token per scope; the refresh token is reused", async () => {
    const seen: SeenRequest[] = [];
    const source = acrSource(parseAcrSettings(KEYLESS, UPSTREAM, { subject: "proxy-prod" }));
    const ctx = cloudContext({ [ENTRA]: entraOk, [EXCHANGE]: exchangeOk, [TOKEN]: tokenOk }, seen);
    const pull = await source.mint(ctx, ["repository:team/app:pull"]);
    const push = await source.mint(ctx, ["repository:team/app:pull,push", "repository:base/os:pull"]);
    expect(pull.expiresAt).toBe(Math.floor((NOW + 75 * 60_000) / 1000) * 1000);
    expect(pull.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(push.authorization).not.toBe(pull.authorization);
    expect(seen.map((r) => `${r.url.host}${r.url.pathname}`)).toEqual([ENTRA, EXCHANGE, TOKEN, TOKEN]);
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body))).toEqual({
      grant_type: "client_credentials",
      client_id: CLIENT,
      scope: ACR_AAD_SCOPE,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "federation-jwt-for:api://AzureADTokenExchange",
    });
    expect(Object.fromEntries(new URLSearchParams(seen[1]?.body))).toEqual({ grant_type: "access_token", service: "acme.azurecr.io", tenant: TENANT, access_token: "aad-access-token" });
    const third = new URLSearchParams(seen[3]?.body);
    expect(third.get("grant_type")).toBe("refresh_token");
    expect(third.get("service")).toBe("acme.azurecr.io");
    expect(third.get("scope")).toBe("repository:team/app:pull,push repository:base/os:pull");
    expect(third.get("refresh_token")).toBe(new URLSearchParams(seen[2]?.body).get("refresh_token"));
  });

  it("keyed: the client secret instead of an assertion; a refresh token near its exp is exchanged again", async () => {
    const seen: SeenRequest[] = [];
    let now = NOW;
    const source = acrSource(parseAcrSettings({ ...KEYLESS, ACR_CLIENT_SECRET: "s3cret" }, UPSTREAM, undefined));
    const ctx = cloudContext({ [ENTRA]: entraOk, [EXCHANGE]: () => Response.json({ refresh_token: jwtWithExp(now + 120_000) }), [TOKEN]: tokenOk }, seen, () => now);
    await source.mint(ctx, []);
    const form = new URLSearchParams(seen[0]?.body);
    expect(form.get("client_secret")).toBe("s3cret");
    expect(form.has("client_assertion")).toBe(false);
    expect(new URLSearchParams(seen[2]?.body).has("scope")).toBe(false);
    now += 60_000;
    await source.mint(ctx, []);
    expect(seen.length).toBe(4); // still within the refresh token's life less its 30 s margin
    now += 40_000;
    await source.mint(ctx, []);
    expect(seen.map((r) => r.url.pathname).slice(4)).toEqual([`/${TENANT}/oauth2/v2.0/token`, "/oauth2/exchange", "/oauth2/token"]);
  });

  it("maps refusals to 502/503/504 naming the step and Entra's AADSTS code or ACR's error", async () => {
    const mint = (answers: Record<string, Answer>) => acrSource(parseAcrSettings(KEYLESS, UPSTREAM, { subject: "proxy-prod" })).mint(cloudContext(answers, []), ["repository:a/b:pull"]);
    // Entra's answer to an assertion whose subject or audience matches no federated credential, or that has expired.
    const noMatch: Answer = () => Response.json({ error: "invalid_client", error_description: "AADSTS700213: No matching federated identity record found for presented assertion subject 'x'.", error_codes: [700213], timestamp: "2026-01-01 00:00:00Z", trace_id: "t", correlation_id: "c" }, { status: 400 });
    expect(await failure(mint({ [ENTRA]: noMatch }))).toEqual({ status: 502, message: "Entra client-credentials grant refused: AADSTS700213" });
    const expired: Answer = () => Response.json({ error: "invalid_client", error_description: "AADSTS700024: Client assertion is not within its valid time range.", error_codes: [700024] }, { status: 400 });
    expect(await failure(mint({ [ENTRA]: expired }))).toEqual({ status: 502, message: "Entra client-credentials grant refused: AADSTS700024" });
    const unauthorized: Answer = () => Response.json({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { status: 401 });
    expect(await failure(mint({ [ENTRA]: entraOk, [EXCHANGE]: unauthorized }))).toEqual({ status: 502, message: "ACR /oauth2/exchange refused: UNAUTHORIZED" });
    expect(await failure(mint({ [ENTRA]: entraOk, [EXCHANGE]: exchangeOk, [TOKEN]: unauthorized }))).toEqual({ status: 502, message: "ACR /oauth2/token refused: UNAUTHORIZED" });
    expect(await failure(mint({ [ENTRA]: () => new Response("busy", { status: 429 }) }))).toEqual({ status: 503, message: "Entra client-credentials grant refused: HTTP 429" });
    expect(await failure(mint({}))).toEqual({ status: 502, message: "Entra client-credentials grant could not be reached" });
    expect(await failure(mint({ [ENTRA]: hang }))).toEqual({ status: 504, message: "Entra client-credentials grant did not answer in time" });
    expect(await failure(mint({ [ENTRA]: entraOk, [EXCHANGE]: () => Response.json({ refresh_token: "opaque" }) }))).toEqual({ status: 502, message: "ACR /oauth2/exchange answered without a refresh token" });
  });
});
