import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "../test/actions-oidc-endpoint.ts";
import { startTestServer } from "../test/http-server.ts";
import { unverifiedClaims } from "./jwt.ts";
import { OidcTokenError, requestActionsIdToken } from "./actions-oidc.ts";

let issuer: OidcIssuer;
let endpoint: ActionsOidcEndpoint;
beforeAll(async () => {
  issuer = await startOidcIssuer();
  endpoint = await startActionsOidcEndpoint(issuer, { github: { owner: "acme", ownerId: "424242" } });
});
afterAll(async () => {
  await endpoint.close();
  await issuer.close();
});

describe("requestActionsIdToken", () => {
  it("requests the token for the audience, appended to the URL's own query", async () => {
    const token = await requestActionsIdToken(endpoint.env, "registry.example.com:5000");
    expect(endpoint.audiences.at(-1)).toBe("registry.example.com:5000");
    expect(unverifiedClaims(token)).toMatchObject({ aud: "registry.example.com:5000", iss: issuer.url, repository_owner_id: "424242" });
  });

  it.each([
    [{}],
    [{ ACTIONS_ID_TOKEN_REQUEST_URL: "http://127.0.0.1:1/x" }],
    [{ ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" }],
  ])("names `permissions: id-token: write` when the runtime variables are missing (%j)", async (env) => {
    await expect(requestActionsIdToken(env, "a")).rejects.toThrow(OidcTokenError);
    await expect(requestActionsIdToken(env, "a")).rejects.toThrow("give the job `permissions: id-token: write`");
  });

  it("reports a refused request with GitHub's message", async () => {
    const env = { ...endpoint.env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong" };
    await expect(requestActionsIdToken(env, "a")).rejects.toThrow("the Actions OIDC token request failed: HTTP 401: Bad credentials");
  });

  it.each([
    [{ status: 200, body: { value: "" } }, /no JWT in `value`/],
    [{ status: 200, body: { count: 0 } }, /no JWT in `value`/],
    [{ status: 200, body: "<html>" }, /not JSON/],
  ])("rejects a response without a token: %j", async (reply, message) => {
    const server = await startTestServer(() => reply);
    try {
      const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `${server.url}/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" };
      await expect(requestActionsIdToken(env, "a")).rejects.toThrow(message);
    } finally {
      await server.close();
    }
  });

  it("fails clearly when the endpoint is unreachable", async () => {
    const gone = await startTestServer(() => ({ status: 200 }));
    await gone.close();
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `${gone.url}/idtoken?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" };
    await expect(requestActionsIdToken(env, "a", fetch, { attempts: 1 })).rejects.toThrow(/cannot get the Actions OIDC token: .*ECONNREFUSED/);
  });
});
