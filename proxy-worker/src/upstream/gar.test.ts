/** The gar source inside workerd, against answers shaped as Google documents them (STS, iamcredentials, OAuth). */
import { decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair, importSPKI, exportSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { cloudContext, failure, refusedSetting, hang, NOW, type SeenRequest } from "./cloud-test-context.ts";
import { CLOUD_PLATFORM_SCOPE, garSource, parseGarSettings } from "./gar.ts";

const PROVIDER = "projects/123456789012/locations/global/workloadIdentityPools/proxy-pool/providers/proxy-oidc";
const SA = "registry-proxy@acme-prod.iam.gserviceaccount.com";
const FEDERATION = { subject: "proxy-prod" };
const STS = "sts.googleapis.com/v1/token";
const IAM = `iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${encodeURIComponent(SA)}:generateAccessToken`;

function mint(env: Env, answers: Parameters<typeof cloudContext>[0], seen: SeenRequest[] = []) {
  return garSource(parseGarSettings(env, FEDERATION)).mint(cloudContext(answers, seen), []);
}

function settingError(env: Env, withFederation = true): string {
  return refusedSetting(() => parseGarSettings(env, withFederation ? FEDERATION : undefined));
}

describe("gar settings", () => {
  it("names the setting that is missing, malformed or conflicting", () => {
    expect(settingError({})).toBe("GAR_WORKLOAD_IDENTITY_PROVIDER");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: "projects/acme/pools/x" })).toBe("GAR_WORKLOAD_IDENTITY_PROVIDER");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER })).toBe("valid");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: `//iam.googleapis.com/${PROVIDER}` })).toBe("valid");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER }, false)).toBe("FEDERATION_SIGNING_KEY");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER, GAR_SERVICE_ACCOUNT: "not an email" })).toBe("GAR_SERVICE_ACCOUNT");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER, GAR_SERVICE_ACCOUNT_KEY: "{}" })).toBe("GAR_SERVICE_ACCOUNT_KEY");
    expect(settingError({ GAR_SERVICE_ACCOUNT_KEY: "not json" })).toBe("GAR_SERVICE_ACCOUNT_KEY");
    expect(settingError({ GAR_SERVICE_ACCOUNT_KEY: JSON.stringify({ type: "service_account", client_email: SA }) })).toBe("GAR_SERVICE_ACCOUNT_KEY");
    expect(settingError({ GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER, GAR_STS_ENDPOINT: "ftp://x" })).toBe("GAR_STS_ENDPOINT");
  });
});

describe("gar source, keyless", () => {
  it("exchanges the federation JWT at STS (RFC 8693 form) and uses the federated token as oauth2accesstoken", async () => {
    const seen: SeenRequest[] = [];
    const minted = await mint(
      { GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER },
      { [STS]: () => Response.json({ access_token: "ya29.federated", issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3599 }) },
      seen,
    );
    expect(minted).toEqual({ authorization: `Basic ${btoa("oauth2accesstoken:ya29.federated")}`, expiresAt: NOW + 3599_000 });
    const [sts] = seen;
    expect(sts?.method).toBe("POST");
    expect(sts?.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
    expect(sts?.headers.get("Authorization")).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(sts?.body))).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      audience: `//iam.googleapis.com/${PROVIDER}`,
      scope: CLOUD_PLATFORM_SCOPE,
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      subject_token: `federation-jwt-for:https://iam.googleapis.com/${PROVIDER}`,
    });
  });

  it("with GAR_SERVICE_ACCOUNT, impersonates it with the federated token (generateAccessToken)", async () => {
    const seen: SeenRequest[] = [];
    const minted = await mint(
      { GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER, GAR_SERVICE_ACCOUNT: SA },
      {
        [STS]: () => Response.json({ access_token: "ya29.federated", token_type: "Bearer", expires_in: 3600 }),
        [IAM]: () => Response.json({ accessToken: "ya29.impersonated", expireTime: "2026-01-01T01:00:00Z" }),
      },
      seen,
    );
    expect(minted).toEqual({ authorization: `Basic ${btoa("oauth2accesstoken:ya29.impersonated")}`, expiresAt: Date.UTC(2026, 0, 1, 1) });
    const iam = seen[1];
    expect(iam?.headers.get("Authorization")).toBe("Bearer ya29.federated");
    expect(JSON.parse(iam?.body ?? "")).toEqual({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: "3600s" });
  });

  it("maps refusals, outages and timeouts to 502/503/504 naming the step and Google's code", async () => {
    const env = { GAR_WORKLOAD_IDENTITY_PROVIDER: PROVIDER, GAR_SERVICE_ACCOUNT: SA };
    const ok = () => Response.json({ access_token: "ya29.federated", expires_in: 3600 });
    // What STS answers for a wrong audience, an expired JWT or one from a clock ahead of Google's.
    const grant = () => Response.json({ error: "invalid_grant", error_description: "The audience in ID Token [x] does not match the expected audience." }, { status: 400 });
    expect(await failure(mint(env, { [STS]: grant }))).toEqual({ status: 502, message: "Google STS token exchange refused: invalid_grant" });
    const denied = () => Response.json({ error: { code: 403, message: "Permission 'iam.serviceAccounts.getAccessToken' denied", status: "PERMISSION_DENIED" } }, { status: 403 });
    expect(await failure(mint(env, { [STS]: ok, [IAM]: denied }))).toEqual({ status: 502, message: "IAM Credentials generateAccessToken refused: PERMISSION_DENIED" });
    expect(await failure(mint(env, { [STS]: () => Response.json({ error: "temporarily_unavailable" }, { status: 503 }) }))).toMatchObject({ status: 503 });
    expect(await failure(mint(env, {}))).toEqual({ status: 502, message: "Google STS token exchange could not be reached" });
    expect(await failure(mint(env, { [STS]: hang }))).toEqual({ status: 504, message: "Google STS token exchange did not answer in time" });
    expect(await failure(mint(env, { [STS]: () => Response.json({ token_type: "Bearer" }) }))).toEqual({ status: 502, message: "Google STS token exchange answered without an access token" });
  });
});

describe("gar source, keyed", () => {
  it("signs an RS256 JWT-bearer assertion with the key (iss client_email, aud token_uri, kid private_key_id) at token_uri", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const key = { type: "service_account", project_id: "acme-prod", private_key_id: "k1", private_key: await exportPKCS8(privateKey), client_email: SA, token_uri: "https://oauth2.googleapis.com/token" };
    const seen: SeenRequest[] = [];
    const minted = await mint({ GAR_SERVICE_ACCOUNT_KEY: JSON.stringify(key) }, { "oauth2.googleapis.com/token": () => Response.json({ access_token: "ya29.keyed", expires_in: 3599, token_type: "Bearer" }) }, seen);
    expect(minted).toEqual({ authorization: `Basic ${btoa("oauth2accesstoken:ya29.keyed")}`, expiresAt: NOW + 3599_000 });
    const form = new URLSearchParams(seen[0]?.body);
    expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    const assertion = form.get("assertion") ?? "";
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: "RS256", typ: "JWT", kid: "k1" });
    const { payload } = await jwtVerify(assertion, await importSPKI(await exportSPKI(publicKey), "RS256"), { currentDate: new Date(NOW) });
    expect(payload).toMatchObject({ iss: SA, aud: "https://oauth2.googleapis.com/token", scope: CLOUD_PLATFORM_SCOPE, iat: NOW / 1000, exp: NOW / 1000 + 3600 });
    expect(decodeJwt(assertion).sub).toBeUndefined();
  });
});
