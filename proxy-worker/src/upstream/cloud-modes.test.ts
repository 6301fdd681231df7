/** UPSTREAM_AUTH gar, acr and quay through readSettings: the rows in CLOUD_MODES and their errors. */
import { SettingError } from "@jwt-registry-auth/protocol";
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { readSettings } from "../settings.ts";

const BASE: Env = { TOKEN_REALM: "https://auth.example/token", TOKEN_SERVICE: "proxy", TOKEN_ISSUER: "iss", TOKEN_JWKS: "{}" };
const FEDERATION = { PUBLIC_URL: "https://proxy.example", FEDERATION_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----", FEDERATION_SUBJECT: "proxy-prod" };

function read(env: Env): { mode?: string; source?: string; setting?: string } {
  try {
    const auth = readSettings({ ...BASE, ...env }).upstreamAuth;
    return auth.kind === "minted" ? { mode: auth.mode, source: auth.create().mode } : { mode: auth.mode };
  } catch (error) {
    if (error instanceof SettingError) return { setting: error.setting };
    throw error;
  }
}

describe("UPSTREAM_AUTH gar, acr, quay", () => {
  it("make their sources from valid settings", () => {
    const provider = "projects/1/locations/global/workloadIdentityPools/pool1/providers/prov1";
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://europe-docker.pkg.dev", UPSTREAM_AUTH: "gar", GAR_WORKLOAD_IDENTITY_PROVIDER: provider })).toEqual({ mode: "gar", source: "gar" });
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://acme.azurecr.io", UPSTREAM_AUTH: "acr", ACR_TENANT_ID: "acme.onmicrosoft.com", ACR_CLIENT_ID: "11111111-2222-3333-4444-555555555555" })).toEqual({ mode: "acr", source: "acr" });
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://quay.io", UPSTREAM_AUTH: "quay", QUAY_ROBOT: "acme+proxy" })).toEqual({ mode: "quay", source: "quay" });
  });

  it("name the missing setting, and refuse static upstream credentials beside them", () => {
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://europe-docker.pkg.dev", UPSTREAM_AUTH: "gar" })).toEqual({ setting: "GAR_WORKLOAD_IDENTITY_PROVIDER" });
    expect(read({ UPSTREAM_URL: "https://acme.azurecr.io", UPSTREAM_AUTH: "acr", ACR_TENANT_ID: "acme.onmicrosoft.com", ACR_CLIENT_ID: "11111111-2222-3333-4444-555555555555" })).toEqual({ setting: "FEDERATION_SIGNING_KEY" });
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://quay.io", UPSTREAM_AUTH: "quay" })).toEqual({ setting: "QUAY_ROBOT" });
    expect(read({ ...FEDERATION, UPSTREAM_URL: "https://quay.io", UPSTREAM_AUTH: "quay", QUAY_ROBOT: "acme+proxy", UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" })).toEqual({ setting: "UPSTREAM_USERNAME" });
  });
});
