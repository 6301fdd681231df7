import { SettingError } from "@jwt-registry-auth/protocol";
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { readSettings } from "../settings.ts";

const BASE: Env = { UPSTREAM_URL: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", TOKEN_REALM: "https://auth.example/token", TOKEN_SERVICE: "proxy", TOKEN_ISSUER: "iss", TOKEN_JWKS: "{}" };
const FEDERATION = { PUBLIC_URL: "https://proxy.example", FEDERATION_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----", FEDERATION_SUBJECT: "proxy-prod" };
const KEYLESS = { ...FEDERATION, UPSTREAM_AUTH: "ecr", AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/registry-proxy" };

/** The setting a SettingError names, and its message, or undefined when the settings are valid. */
function refusal(overrides: Partial<Record<Exclude<keyof Env, "TOKEN_SERVER">, string>>): { setting: string; message: string } | undefined {
  try {
    readSettings({ ...BASE, ...overrides });
    return undefined;
  } catch (error) {
    if (error instanceof SettingError) return { setting: error.setting, message: error.message };
    throw error;
  }
}

describe("UPSTREAM_AUTH", () => {
  it("unset keeps the learnt scheme, with or without credentials (as before the setting)", () => {
    expect(readSettings(BASE).upstreamAuth).toEqual({ kind: "learnt", mode: "auto" });
    expect(readSettings({ ...BASE, UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" }).upstreamAuth).toEqual({ kind: "learnt", mode: "auto" });
  });

  it("none, basic and bearer check the credentials they imply", () => {
    expect(readSettings({ ...BASE, UPSTREAM_AUTH: "none" }).upstreamAuth).toEqual({ kind: "learnt", mode: "none" });
    expect(refusal({ UPSTREAM_AUTH: "none", UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" })?.setting).toBe("UPSTREAM_AUTH");
    expect(refusal({ UPSTREAM_AUTH: "basic" })?.setting).toBe("UPSTREAM_USERNAME");
    expect(readSettings({ ...BASE, UPSTREAM_AUTH: "bearer", UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" }).upstreamAuth.kind).toBe("learnt");
  });

  it("an unknown mode is refused, naming the known ones", () => {
    expect(refusal({ UPSTREAM_AUTH: "s3" })).toEqual({ setting: "UPSTREAM_AUTH", message: expect.stringMatching(/one of none, basic, bearer, ecr/) });
    expect(refusal({ UPSTREAM_AUTH: "toString" })?.setting).toBe("UPSTREAM_AUTH");
  });

  it("ecr keyless: region from the ECR host, the federation issuer required", () => {
    const settings = readSettings({ ...BASE, ...KEYLESS });
    expect(settings.upstreamAuth).toMatchObject({ kind: "minted", mode: "ecr" });
    expect(settings.federation).toEqual({ issuer: "https://proxy.example", subject: "proxy-prod", keyPem: "-----BEGIN PRIVATE KEY-----" });
    expect(refusal({ ...KEYLESS, FEDERATION_SIGNING_KEY: "", FEDERATION_SUBJECT: "" })?.setting).toBe("FEDERATION_SIGNING_KEY");
    expect(refusal({ ...KEYLESS, FEDERATION_SUBJECT: "" })?.setting).toBe("FEDERATION_SUBJECT");
    expect(refusal({ ...KEYLESS, PUBLIC_URL: "" })?.setting).toBe("PUBLIC_URL");
    expect(refusal({ ...KEYLESS, AWS_ROLE_ARN: "role/registry-proxy" })?.setting).toBe("AWS_ROLE_ARN");
  });

  it("ecr: the region must be known and valid; endpoints must be URLs", () => {
    expect(refusal({ ...KEYLESS, UPSTREAM_URL: "http://127.0.0.1:5000" })?.setting).toBe("AWS_REGION");
    expect(refusal({ ...KEYLESS, AWS_REGION: "Europe" })?.setting).toBe("AWS_REGION");
    expect(refusal({ ...KEYLESS, AWS_STS_ENDPOINT: "not a url" })?.setting).toBe("AWS_STS_ENDPOINT");
    expect(refusal({ ...KEYLESS, ECR_API_ENDPOINT: "ftp://x" })?.setting).toBe("ECR_API_ENDPOINT");
  });

  it("ecr keyed: both keys, not with a role, and never with UPSTREAM_USERNAME/PASSWORD", () => {
    expect(readSettings({ ...BASE, UPSTREAM_AUTH: "ecr", AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s" }).upstreamAuth.kind).toBe("minted");
    expect(refusal({ UPSTREAM_AUTH: "ecr", AWS_ACCESS_KEY_ID: "AKID" })?.setting).toBe("AWS_SECRET_ACCESS_KEY");
    expect(refusal({ UPSTREAM_AUTH: "ecr" })?.setting).toBe("AWS_ROLE_ARN");
    expect(refusal({ ...KEYLESS, AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "s" })?.setting).toBe("AWS_ACCESS_KEY_ID");
    expect(refusal({ ...KEYLESS, UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" })?.setting).toBe("UPSTREAM_USERNAME");
  });

  it("no error message quotes a secret", () => {
    const secret = "wJalrXUtnFEMI-secret";
    const error = refusal({ UPSTREAM_AUTH: "ecr", AWS_SECRET_ACCESS_KEY: secret });
    expect(error?.message).not.toContain(secret);
  });
});
