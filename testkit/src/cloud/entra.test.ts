/** The Entra stand-in's token endpoint: what it accepts and the AADSTS code of each refusal. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "../oidc-issuer.ts";
import { ENTRA_ACR_SCOPE, startEntraStandIn, type EntraApp, type EntraStandIn } from "./entra.ts";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
let issuer: OidcIssuer;
let entra: EntraStandIn;
const apps: Record<string, EntraApp> = {};

beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "ES256" });
  entra = await startEntraStandIn({ tenant: TENANT, apps });
  apps[CLIENT] = { objectId: "oid-1", federatedCredentials: [{ issuer: issuer.url, subject: "proxy" }], clientSecret: "s3cret" };
});
afterAll(async () => {
  await entra.close();
  await issuer.close();
});

async function grant(fields: Record<string, string>, tenant = TENANT): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${entra.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: CLIENT, scope: ENTRA_ACR_SCOPE, ...fields }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const assertion = (claims: Record<string, unknown> = {}, expiresIn = 300): Promise<string> => issuer.mint({ sub: "proxy", aud: "api://AzureADTokenExchange", ...claims }, { expiresIn });
const keyless = async (jwt: string) => grant({ client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: jwt });

describe("Entra stand-in", () => {
  it("a federated credential's assertion gets an AAD access token for ACR that verifies", async () => {
    const { status, body } = await keyless(await assertion());
    expect(status).toBe(200);
    expect(body["token_type"]).toBe("Bearer");
    expect(await entra.verifyAccessToken(String(body["access_token"]))).toMatchObject({ tid: TENANT, appid: CLIENT, oid: "oid-1", aud: "https://containerregistry.azure.net" });
    expect(await entra.verifyAccessToken(`${String(body["access_token"])}x`)).toBeUndefined();
  });

  it("refuses with Entra's codes: subject, audience, expiry, issuer, secret, scope", async () => {
    const code = async (p: Promise<{ status: number; body: Record<string, unknown> }>) => {
      const { status, body } = await p;
      return `${status} ${String(body["error"])} ${String((body["error_codes"] as number[] | undefined)?.[0])}`;
    };
    expect(await code(keyless(await assertion({ sub: "other" })))).toBe("401 invalid_client 700213");
    expect(await code(keyless(await assertion({ aud: "api://other" })))).toBe("401 invalid_client 700212");
    expect(await code(keyless(await assertion({}, -60)))).toBe("401 invalid_client 700024");
    const stranger = await startOidcIssuer({ alg: "ES256" });
    try {
      expect(await code(keyless(await stranger.mint({ sub: "proxy", aud: "api://AzureADTokenExchange" })))).toBe("401 invalid_client 700211");
    } finally {
      await stranger.close();
    }
    expect(await code(grant({ client_secret: "s3cret" }))).toBe("200 undefined undefined");
    expect(await code(grant({ client_secret: "wrong" }))).toBe("401 invalid_client 7000215");
    expect(await code(grant({ client_secret: "s3cret", scope: "https://graph.microsoft.com/.default" }))).toBe("400 invalid_scope 70011");
    expect(await code(grant({ client_secret: "s3cret", client_id: "00000000-0000-0000-0000-000000000000" }))).toBe("400 unauthorized_client 700016");
    expect(await code(grant({ client_secret: "s3cret" }, "other-tenant"))).toBe("400 invalid_request 90002");
  });
});
