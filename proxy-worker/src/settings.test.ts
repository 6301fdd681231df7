import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "./env.ts";
import { SettingError } from "@jwt-registry-auth/protocol";
import { loadSettings, readSettings, SETTING_NAMES, upstreamApiUrl } from "./settings.ts";

const BASE: Env = { UPSTREAM_URL: "http://127.0.0.1:5000", TOKEN_REALM: "http://127.0.0.1:8787/token", TOKEN_SERVICE: "proxy", TOKEN_ISSUER: "iss", TOKEN_JWKS: "{}" };

function settingError(overrides: Partial<Record<keyof Env, unknown>>): string | undefined {
  try {
    readSettings({ ...BASE, ...overrides } as Env);
    return undefined;
  } catch (error) {
    if (error instanceof SettingError) return error.setting;
    throw error;
  }
}

describe("readSettings", () => {
  it("reads a complete configuration", () => {
    const settings = readSettings({ ...BASE, UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p" });
    expect(settings).toMatchObject({ realm: BASE.TOKEN_REALM, service: "proxy", issuer: "iss", keySource: { kind: "jwks" }, credentials: { username: "u", password: "p" } });
    expect(settings.upstream.href).toBe("http://127.0.0.1:5000/");
  });

  it.each([
    [{ UPSTREAM_URL: undefined }, "UPSTREAM_URL"],
    [{ UPSTREAM_URL: "ftp://x" }, "UPSTREAM_URL"],
    [{ UPSTREAM_URL: "https://user:pw@reg.example" }, "UPSTREAM_URL"],
    [{ UPSTREAM_URL: "https://reg.example/?x=1" }, "UPSTREAM_URL"],
    [{ TOKEN_REALM: " " }, "TOKEN_REALM"],
    [{ TOKEN_REALM: "not a url" }, "TOKEN_REALM"],
    [{ TOKEN_SERVICE: "" }, "TOKEN_SERVICE"],
    [{ TOKEN_ISSUER: undefined }, "TOKEN_ISSUER"],
    [{ TOKEN_JWKS: undefined }, "TOKEN_SERVER"],
    [{ TOKEN_JWKS_URL: "https://auth.example/jwks" }, "TOKEN_JWKS_URL"],
    [{ TOKEN_JWKS: undefined, TOKEN_JWKS_URL: "file:///etc/passwd" }, "TOKEN_JWKS_URL"],
    [{ UPSTREAM_USERNAME: "u" }, "UPSTREAM_PASSWORD"],
    [{ UPSTREAM_PASSWORD: "p" }, "UPSTREAM_USERNAME"],
    [{ UPSTREAM_USERNAME: "a:b", UPSTREAM_PASSWORD: "p" }, "UPSTREAM_USERNAME"],
    [{ PUBLIC_URL: "https://registry.example/v2" }, "PUBLIC_URL"],
    [{ UPSTREAM_ALLOW_INSECURE_REALM: "1" }, "UPSTREAM_ALLOW_INSECURE_REALM"],
    [{ UPSTREAM_ALLOW_INSECURE_REDIRECTS: "TRUE" }, "UPSTREAM_ALLOW_INSECURE_REDIRECTS"],
  ])("%o fails naming %s", (overrides, setting) => {
    expect(settingError(overrides)).toBe(setting);
  });

  it("picks the key source: inline or URL settings first, else the binding", () => {
    expect(readSettings({ ...BASE, TOKEN_JWKS: undefined, TOKEN_CERTS: "pem" }).keySource.kind).toBe("pem");
    expect(readSettings({ ...BASE, TOKEN_JWKS: undefined, TOKEN_JWKS_URL: "http://127.0.0.1:8787/.well-known/jwks.json" }).keySource.kind).toBe("url");
    expect(readSettings({ ...BASE, TOKEN_JWKS: undefined, TOKEN_SERVER: env.TOKEN_SERVER }).keySource.kind).toBe("binding");
    expect(readSettings({ ...BASE, TOKEN_SERVER: env.TOKEN_SERVER }).keySource.kind).toBe("jwks");
  });
});

describe("the proxy's address and the insecure allowances", () => {
  it("default to none: relative Locations, https-or-same-origin realms, https redirects to public hosts", () => {
    expect(readSettings(BASE)).toMatchObject({ allowInsecureRealm: false, allowInsecureRedirects: false });
    expect(readSettings(BASE).publicUrl).toBeUndefined();
  });

  it("read PUBLIC_URL as an origin and the flags as true/false", () => {
    const settings = readSettings({ ...BASE, PUBLIC_URL: "https://registry.example.com/", UPSTREAM_ALLOW_INSECURE_REALM: "true", UPSTREAM_ALLOW_INSECURE_REDIRECTS: "false" });
    expect(settings.publicUrl?.origin).toBe("https://registry.example.com");
    expect(settings).toMatchObject({ allowInsecureRealm: true, allowInsecureRedirects: false });
  });
});

describe("upstreamApiUrl", () => {
  it("puts the API path below the upstream URL's own path", () => {
    expect(upstreamApiUrl(new URL("http://127.0.0.1:5000"), "/v2/a/tags/list?n=1").href).toBe("http://127.0.0.1:5000/v2/a/tags/list?n=1");
    expect(upstreamApiUrl(new URL("https://reg.example/mirror/"), "/v2/").href).toBe("https://reg.example/mirror/v2/");
  });
});

describe("loadSettings", () => {
  it("names every env value readSettings reads, so a change to any of them is seen", () => {
    const read = new Set<string | symbol>();
    const recording = (env: Env) => new Proxy(env, { get: (target, key) => (read.add(key), Reflect.get(target, key)) });
    const variants: Env[] = [
      { ...BASE, UPSTREAM_USERNAME: "u", UPSTREAM_PASSWORD: "p", PUBLIC_URL: "https://r.example", UPSTREAM_ALLOW_INSECURE_REALM: "true", UPSTREAM_ALLOW_INSECURE_REDIRECTS: "true" },
      { ...BASE, TOKEN_JWKS: undefined, TOKEN_CERTS: "pem" },
      { ...BASE, TOKEN_JWKS: undefined, TOKEN_JWKS_URL: "http://127.0.0.1:8787/.well-known/jwks.json" },
      { ...BASE, TOKEN_JWKS: undefined, TOKEN_SERVER: env.TOKEN_SERVER },
      {
        ...BASE,
        UPSTREAM_AUTH: "ecr",
        PUBLIC_URL: "https://r.example",
        FEDERATION_SIGNING_KEY: "pem",
        FEDERATION_SUBJECT: "proxy",
        AWS_REGION: "eu-west-1",
        AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/proxy",
        AWS_STS_ENDPOINT: "http://127.0.0.1:1/",
        ECR_API_ENDPOINT: "http://127.0.0.1:2/",
      },
      { ...BASE, UPSTREAM_AUTH: "ecr", AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret" },
      {
        ...BASE,
        UPSTREAM_AUTH: "gar",
        PUBLIC_URL: "https://r.example",
        FEDERATION_SIGNING_KEY: "pem",
        FEDERATION_SUBJECT: "proxy",
        GAR_WORKLOAD_IDENTITY_PROVIDER: "projects/123/locations/global/workloadIdentityPools/pool/providers/proxy",
        GAR_SERVICE_ACCOUNT: "proxy@project.iam.gserviceaccount.com",
        GAR_STS_ENDPOINT: "http://127.0.0.1:3/",
        GAR_IAM_CREDENTIALS_ENDPOINT: "http://127.0.0.1:4/",
      },
      { ...BASE, UPSTREAM_AUTH: "acr", PUBLIC_URL: "https://r.example", FEDERATION_SIGNING_KEY: "pem", FEDERATION_SUBJECT: "proxy", ACR_TENANT_ID: "contoso.onmicrosoft.com", ACR_CLIENT_ID: "00000000-0000-0000-0000-0000000000c1", ACR_LOGIN_ENDPOINT: "http://127.0.0.1:5/" },
      { ...BASE, UPSTREAM_AUTH: "quay", PUBLIC_URL: "https://r.example", FEDERATION_SIGNING_KEY: "pem", FEDERATION_SUBJECT: "proxy", QUAY_ROBOT: "org+robot", QUAY_FEDERATION_AUDIENCE: "quay.example" },
    ];
    for (const variant of variants) readSettings(recording(variant));
    expect([...read].sort()).toEqual([...SETTING_NAMES].sort());
  });

  it("reads once per env object and settings change, and never keeps a failure", () => {
    const first = loadSettings(BASE);
    expect(loadSettings(BASE)).toBe(first);
    expect(loadSettings({ ...BASE })).toBe(first);
    expect(loadSettings({ ...BASE, TOKEN_SERVICE: "other" }).service).toBe("other");
    const broken = { ...BASE, UPSTREAM_URL: "ftp://x" };
    expect(() => loadSettings(broken)).toThrow(SettingError);
    expect(() => loadSettings(broken)).toThrow(SettingError);
  });
});
