/** The ACR stand-in: /oauth2/exchange and /oauth2/token checks, and a token-auth Distribution that trusts only what it mints. */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAcrStandIn, type AcrStandIn } from "./acr.ts";
import { ENTRA_ACR_SCOPE, startEntraStandIn, type EntraStandIn } from "./entra.ts";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
let entra: EntraStandIn;
let acr: AcrStandIn;

beforeAll(async () => {
  entra = await startEntraStandIn({ tenant: TENANT, apps: { [CLIENT]: { objectId: "oid-1", federatedCredentials: [], clientSecret: "s3cret" } } });
  acr = await startAcrStandIn({ entra, tenant: TENANT, roleAssignments: { "oid-1": ["pull"] } });
}, 60_000);
afterAll(async () => {
  await acr.close();
  await entra.close();
});

async function post(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const errorOf = (answer: { status: number; body: Record<string, unknown> }): string => `${answer.status} ${String((answer.body["errors"] as { code: string }[] | undefined)?.[0]?.code)}`;

describe("ACR stand-in", () => {
  it("exchanges an AAD token for a refresh token, then mints access cut to the role assignment, which the registry accepts", async () => {
    const aad = String((await post(`${entra.url}/${TENANT}/oauth2/v2.0/token`, { grant_type: "client_credentials", client_id: CLIENT, client_secret: "s3cret", scope: ENTRA_ACR_SCOPE })).body["access_token"]);
    const exchange = { grant_type: "access_token", service: acr.host, tenant: TENANT, access_token: aad };
    expect(errorOf(await post(`${acr.url}/oauth2/exchange`, { ...exchange, service: "other.azurecr.io" }))).toBe("400 INVALID_SERVICE");
    expect(errorOf(await post(`${acr.url}/oauth2/exchange`, { ...exchange, tenant: "other" }))).toBe("401 UNAUTHORIZED");
    expect(errorOf(await post(`${acr.url}/oauth2/exchange`, { ...exchange, access_token: `${aad}x` }))).toBe("401 UNAUTHORIZED");
    const refreshToken = String((await post(`${acr.url}/oauth2/exchange`, exchange)).body["refresh_token"]);

    const token = { grant_type: "refresh_token", service: acr.host, scope: "repository:acme/app:pull,push", refresh_token: refreshToken };
    expect(errorOf(await post(`${acr.url}/oauth2/token`, { ...token, refresh_token: aad }))).toBe("401 UNAUTHORIZED");
    expect(errorOf(await post(`${acr.url}/oauth2/token`, { ...token, service: "other.azurecr.io" }))).toBe("400 INVALID_SERVICE");
    const accessToken = String((await post(`${acr.url}/oauth2/token`, token)).body["access_token"]);
    expect(decodeJwt(accessToken)).toMatchObject({ iss: "Azure Container Registry", aud: acr.host, access: [{ type: "repository", name: "acme/app", actions: ["pull"] }] });

    const tags = (authorization?: string) => fetch(`${acr.url}/v2/acme/app/tags/list`, authorization === undefined ? {} : { headers: { Authorization: authorization } });
    expect((await tags()).status).toBe(401);
    expect((await tags(`Bearer ${refreshToken}`)).status).toBe(401);
    expect((await tags(`Bearer ${accessToken}`)).status).toBe(404);
  }, 30_000);
});
