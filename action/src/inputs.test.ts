import { describe, expect, it } from "vitest";
import { InputError, parseInputs, parseRegistry } from "./inputs.ts";

const env = (inputs: Record<string, string>) => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));

describe("parseRegistry", () => {
  it.each([
    ["registry.example.com", "registry.example.com", "https://registry.example.com"],
    ["registry.example.com:5000", "registry.example.com:5000", "https://registry.example.com:5000"],
    ["https://registry.example.com/", "registry.example.com", "https://registry.example.com"],
    ["https://Registry.Example.com:443", "registry.example.com", "https://registry.example.com"],
    ["http://127.0.0.1:5000", "127.0.0.1:5000", "http://127.0.0.1:5000"],
    ["https://registry.example.com/v2/", "registry.example.com", "https://registry.example.com"],
    ["https://127.0.0.1:5000", "127.0.0.1:5000", "https://127.0.0.1:5000"],
  ])("%s → host %s, probed at %s", (value, host, baseUrl) => {
    expect(parseRegistry(value)).toEqual({ host, baseUrl });
  });

  // docker's default insecure registries: https first, then plain http; only when no scheme was written.
  it.each([
    ["127.0.0.1:5000", "127.0.0.1:5000"],
    ["localhost:5000", "localhost:5000"],
    ["LocalHost", "localhost"],
    ["127.10.20.30:5000", "127.10.20.30:5000"],
    ["[::1]:5000", "[::1]:5000"],
  ])("%s on loopback without a scheme → https, falling back to http://%s", (value, host) => {
    expect(parseRegistry(value)).toEqual({ host, baseUrl: `https://${host}`, httpFallback: `http://${host}` });
  });

  it.each(["registry.example.com:5000", "128.0.0.1:5000", "localhost.example.com", "10.0.0.1:5000"])("%s is not loopback: https only", (value) => {
    expect(parseRegistry(value).httpFallback).toBeUndefined();
  });

  it.each([
    ["", /required/],
    ["registry.example.com/acme/app", /not a path/],
    ["https://registry.example.com/acme", /not a path/],
    ["ftp://registry.example.com", /only http\(s\)/],
    ["https://user:pw@registry.example.com", /credentials/],
    ["registry.example.com?x=1", /not a path/],
    ["registry example.com", /whitespace/],
    ["https://", /not a URL/],
  ])("rejects %j", (value, message) => {
    expect(() => parseRegistry(value)).toThrow(InputError);
    expect(() => parseRegistry(value)).toThrow(message);
  });
});

describe("parseInputs", () => {
  it("applies the defaults: audience = registry host, refresh auto, logout true", () => {
    expect(parseInputs(env({ registry: "registry.example.com:5000", provider: "github" }))).toEqual({
      registry: { host: "registry.example.com:5000", baseUrl: "https://registry.example.com:5000" },
      provider: "github",
      audience: "registry.example.com:5000",
      refresh: "auto",
      logout: true,
      credentialHelper: false,
    });
  });

  it("credential-helper true requires refresh tokens (auto and true both mean required)", () => {
    expect(parseInputs(env({ registry: "r.example", provider: "p", "credential-helper": "true" }))).toMatchObject({ credentialHelper: true, refresh: "required" });
    expect(parseInputs(env({ registry: "r.example", provider: "p", "credential-helper": "true", refresh: "true" }))).toMatchObject({ credentialHelper: true, refresh: "required" });
    expect(parseInputs(env({ registry: "r.example", provider: "p", "credential-helper": "false" }))).toMatchObject({ credentialHelper: false, refresh: "auto" });
  });

  it("reads every input, trimmed, with the runner's variable names (hyphens kept)", () => {
    const parsed = parseInputs({
      INPUT_REGISTRY: " registry.example.com ",
      INPUT_PROVIDER: "github",
      INPUT_AUDIENCE: "https://registry.example.com",
      "INPUT_TOKEN-SERVER": "https://auth.example.com",
      INPUT_SERVICE: " registry.example.com ",
      INPUT_REFRESH: "true",
      INPUT_LOGOUT: "False",
    });
    expect(parsed.audience).toBe("https://registry.example.com");
    expect(parsed.tokenServer?.href).toBe("https://auth.example.com/token");
    expect(parsed.service).toBe("registry.example.com");
    expect(parsed.refresh).toBe("required");
    expect(parsed.logout).toBe(false);
  });

  it("keeps a token-server path as given", () => {
    expect(parseInputs(env({ registry: "r.example", provider: "p", "token-server": "https://auth.example.com/auth/token?x=1" })).tokenServer?.href).toBe(
      "https://auth.example.com/auth/token?x=1",
    );
  });

  // The token server also issues the registry token that proves a password login, so refresh: false no longer excludes it.
  it("accepts token-server with refresh false", () => {
    expect(parseInputs(env({ registry: "r.example", provider: "p", "token-server": "https://a.example", refresh: "false" })).tokenServer?.href).toBe("https://a.example/token");
  });

  it("accepts username as an alias of provider, and both when they agree", () => {
    expect(parseInputs(env({ registry: "r.example", username: "github" })).provider).toBe("github");
    expect(parseInputs(env({ registry: "r.example", username: "github", provider: "github" })).provider).toBe("github");
  });

  it.each([
    [{ registry: "r.example" }, /input provider is required/],
    [{ registry: "r.example", provider: "a", username: "b" }, /disagree/],
    [{ registry: "r.example", provider: "git:hub" }, /must not contain ':'/],
    [{ registry: "r.example", provider: "p", refresh: "yes" }, /input refresh: expected true or false, got "yes"/],
    [{ registry: "r.example", provider: "p", logout: "1" }, /input logout: expected true or false/],
    [{ registry: "r.example", provider: "p", "credential-helper": "yes" }, /input credential-helper: expected true or false/],
    [{ registry: "r.example", provider: "p", "credential-helper": "true", refresh: "false" }, /inputs credential-helper: true and refresh: false contradict/],
    [{ registry: "r.example", provider: "p", "token-server": "auth.example.com" }, /input token-server: "auth.example.com" is not a URL/],
    [{ registry: "r.example", provider: "p", service: "two words" }, /input service must not contain whitespace/],
    [{ provider: "p" }, /input registry is required/],
  ])("rejects %j", (inputs, message) => {
    expect(() => parseInputs(env(inputs))).toThrow(InputError);
    expect(() => parseInputs(env(inputs))).toThrow(message);
  });

  it.each([
    ["auto", "auto"],
    ["", "auto"],
    ["TRUE", "required"],
    ["false", "off"],
  ])("refresh %j → %s", (value, mode) => {
    expect(parseInputs(env({ registry: "r.example", provider: "p", refresh: value })).refresh).toBe(mode);
  });
});
