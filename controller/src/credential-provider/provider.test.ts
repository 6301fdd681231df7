import { describe, expect, it } from "vitest";
import { PROVIDER_ANNOTATION } from "../annotations.ts";
import { parseProviderArgs } from "./args.ts";
import { credentialResponse, ProviderError, type ProviderOptions } from "./provider.ts";

const NOW = Date.UTC(2026, 0, 1) ;
const nowSeconds = NOW / 1000;
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
const jwt = (claims: Record<string, unknown>): string => `${b64({ alg: "RS256", kid: "k" })}.${b64(claims)}.c2ln`;
const token = jwt({ iss: "https://cluster", sub: "system:serviceaccount:team-a:app", aud: ["https://r.example"], exp: nowSeconds + 3600, iat: nowSeconds });

const options: ProviderOptions = { username: "cluster-a", usernameAnnotation: PROVIDER_ANNOTATION, cacheKeyType: "Registry", registries: ["r.example:5000"], cacheMarginSeconds: 60 };
const request = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: "credentialprovider.kubelet.k8s.io/v1",
  kind: "CredentialProviderRequest",
  image: "r.example:5000/team-a/app:v1",
  serviceAccountToken: token,
  serviceAccountAnnotations: {},
  ...overrides,
});

describe("credentialResponse", () => {
  it("answers with the token as password for the image's registry, cached until shortly before exp", () => {
    expect(credentialResponse(request(), options, NOW)).toEqual({
      apiVersion: "credentialprovider.kubelet.k8s.io/v1",
      kind: "CredentialProviderResponse",
      cacheKeyType: "Registry",
      cacheDuration: "59m0s",
      auth: { "r.example:5000": { username: "cluster-a", password: token } },
    });
  });

  it("takes the username from the ServiceAccount annotation over the flag", () => {
    const response = credentialResponse(request({ serviceAccountAnnotations: { [PROVIDER_ANNOTATION]: "cluster-b" } }), options, NOW);
    expect(response.auth["r.example:5000"]?.username).toBe("cluster-b");
    expect(credentialResponse(request({ serviceAccountAnnotations: { [PROVIDER_ANNOTATION]: "x" } }), { ...options, username: undefined }, NOW).auth["r.example:5000"]?.username).toBe("x");
  });

  it("does not cache a token about to expire", () => {
    const short = jwt({ exp: nowSeconds + 30 });
    expect(credentialResponse(request({ serviceAccountToken: short }), options, NOW).cacheDuration).toBe("0s");
  });

  it.each([
    ["a non-object", [], /not a JSON object/],
    ["another apiVersion", request({ apiVersion: "credentialprovider.kubelet.k8s.io/v1beta1" }), /unsupported apiVersion/],
    ["another kind", request({ kind: "CredentialProviderResponse" }), /unexpected kind/],
    ["no image", request({ image: "" }), /image is missing/],
    ["a bad image", request({ image: "r.example/UPPER" }), /not a valid image reference/],
    ["no token", request({ serviceAccountToken: undefined }), /serviceAccountToken is missing: set tokenAttributes/],
    ["a non-JWT token", request({ serviceAccountToken: "opaque" }), /not a JWT/],
    ["a token without exp", request({ serviceAccountToken: jwt({ sub: "x" }) }), /no exp claim/],
    ["an expired token", request({ serviceAccountToken: jwt({ exp: nowSeconds - 1 }) }), /has expired/],
    ["non-string annotations", request({ serviceAccountAnnotations: { a: 1 } }), /map strings to strings/],
  ])("rejects %s", (_what, input, message) => {
    expect(() => credentialResponse(input, options, NOW)).toThrow(ProviderError);
    expect(() => credentialResponse(input, options, NOW)).toThrow(message);
  });

  it("needs a username from somewhere", () => {
    expect(() => credentialResponse(request(), { ...options, username: undefined }, NOW)).toThrow(/no username/);
  });

  it("refuses registries it was not told to serve, and never serves any registry", () => {
    expect(() => credentialResponse(request(), { ...options, registries: ["other.example"] }, NOW)).toThrow(/image registry r\.example:5000 is not one this provider serves \(other\.example\); no credentials given/);
    // The same host on another port (or without one) is another registry.
    expect(() => credentialResponse(request(), { ...options, registries: ["r.example"] }, NOW)).toThrow(/not one this provider serves/);
    expect(() => credentialResponse(request({ image: "ubuntu:22.04" }), options, NOW)).toThrow(/image registry docker\.io is not one/);
    expect(() => credentialResponse(request(), { ...options, registries: [] }, NOW)).toThrow(/no registry configured/);
    expect(credentialResponse(request(), { ...options, registries: ["other.example", "r.example:5000"] }, NOW).auth).toHaveProperty(["r.example:5000"]);
  });

  it("never puts the token in an error", () => {
    const expired = jwt({ exp: nowSeconds - 1, secret: "do-not-print" });
    try {
      credentialResponse(request({ serviceAccountToken: expired }), options, NOW);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(expired.slice(0, 20));
    }
  });
});

describe("parseProviderArgs", () => {
  it("reads flags, falling back to the environment", () => {
    expect(parseProviderArgs(["--registry", "R.example", "--cache-key-type", "Image", "--cache-margin", "2m"], { JWT_REGISTRY_AUTH_USERNAME: "env-user" })).toEqual({
      username: "env-user",
      usernameAnnotation: PROVIDER_ANNOTATION,
      cacheKeyType: "Image",
      registries: ["r.example"],
      cacheMarginSeconds: 120,
    });
    expect(parseProviderArgs(["--registry", "r.example", "--username", "flag-user"], { JWT_REGISTRY_AUTH_USERNAME: "env-user" }).username).toBe("flag-user");
  });

  it("takes registries repeated or comma-separated", () => {
    expect(parseProviderArgs(["--registry", "a.example,B.example:5000", "--registry", "127.0.0.1:5000", "--registry", "a.example"], {}).registries).toEqual(["a.example", "b.example:5000", "127.0.0.1:5000"]);
  });

  it.each([
    [[], /--registry is required/],
    [["--username", "u"], /--registry is required/],
    [["--registry", "https://r.example"], /"https:\/\/r\.example" is not a registry host\[:port\]/],
    [["--registry", "r.example/team"], /is not a registry host/],
    [["--registry", "*.example.com"], /is not a registry host/],
    [["--registry", "r.example,"], /"" is not a registry host/],
    [["--registry", "r.example", "--cache-key-type", "Pod"], /--cache-key-type/],
    [["--registry", "r.example", "--cache-margin", "soon"], /--cache-margin/],
    [["--bogus"], /Unknown option/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseProviderArgs(argv, {})).toThrow(ProviderError);
    expect(() => parseProviderArgs(argv, {})).toThrow(message);
  });
});
