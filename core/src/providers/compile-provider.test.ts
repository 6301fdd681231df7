import { describe, expect, it } from "vitest";
import { compileProvider, compileStoredProvider, describeProviderIssue, withParsedConditions } from "./compile-provider.ts";
import type { ProviderConfig } from "./model.ts";
import { validateProviderConfig } from "./validate.ts";
import { evaluateAuthn, evaluateAuthz } from "../policy/evaluate.ts";

const config: ProviderConfig = {
  name: "ci",
  issuer: "https://token.actions.githubusercontent.com",
  keys: { source: "discovery", discoveryUrl: "https://token.actions.githubusercontent.com/.well-known/openid-configuration" },
  audiences: [],
  authn: 'claims.repository_owner_id == "123"',
  authz: 'scope.action == "pull" && scope.name.startsWith(claims.repository_owner + "/")',
  refreshSeconds: 3600,
};

/** The stored row as the Worker reads it: JSON text, validated, then compiled without parsing. */
function fromRow(stored: ProviderConfig): ReturnType<typeof compileStoredProvider> {
  const checked = validateProviderConfig(JSON.parse(JSON.stringify(stored)));
  if (!checked.ok) throw new Error(checked.error);
  return compileStoredProvider(checked.value);
}

function errorsOf(result: ReturnType<typeof compileStoredProvider>): string {
  if (result.ok) throw new Error("expected errors");
  return result.errors.map(describeProviderIssue).join("; ");
}

describe("compileStoredProvider", () => {
  it("decides exactly as the source-compiled provider does", () => {
    const fromSource = compileProvider(config);
    const stored = fromRow(withParsedConditions(config));
    if (!fromSource.ok || !stored.ok) throw new Error("both compile");
    const claimsCases = [
      { repository_owner_id: "123", repository_owner: "acme" },
      { repository_owner_id: "124", repository_owner: "acme" },
      { repository_owner: "acme" },
      { repository_owner_id: 123, repository_owner: "acme" },
    ];
    for (const claims of claimsCases) {
      expect(evaluateAuthn(stored.value.provider, { service: "r", claims })).toEqual(evaluateAuthn(fromSource.value.provider, { service: "r", claims }));
      for (const scope of [
        { type: "repository", name: "acme/app", action: "pull" },
        { type: "repository", name: "other/app", action: "pull" },
        { type: "repository", name: "acme/app", action: "push" },
        { type: "repository", name: "acme/app", action: "*" },
      ]) {
        expect(evaluateAuthz(stored.value.provider, { service: "r", claims, scope })).toEqual(evaluateAuthz(fromSource.value.provider, { service: "r", claims, scope }));
      }
    }
  });

  it("refuses a row stored without the parsed form, saying to re-apply", () => {
    expect(errorsOf(fromRow(config))).toBe(
      "authn.condition: stored without its parsed form (applied by an older version); run `policy apply` with the providers file again; " +
        "authz.condition: stored without its parsed form (applied by an older version); run `policy apply` with the providers file again",
    );
  });

  it("refuses a row whose condition was edited after apply", () => {
    const stored = withParsedConditions(config);
    expect(errorsOf(fromRow({ ...stored, authn: 'claims.repository_owner_id == "999"' }))).toMatch(/^authn\.condition: the stored parsed form does not match/);
  });

  it("a provider without conditions needs no parsed form", () => {
    const { authn: _n, authz: _z, ...open } = config;
    const stored = withParsedConditions(open);
    expect(stored).not.toHaveProperty("parsed");
    expect(fromRow(stored).ok).toBe(true);
  });

  it("withParsedConditions recomputes the form from the source, ignoring a stale one", () => {
    const stale = { ...withParsedConditions(config), authn: "true" };
    expect(withParsedConditions(stale)).toEqual(withParsedConditions({ ...config, authn: "true" }));
    expect(() => withParsedConditions({ ...config, authn: "claims.(" })).toThrow(/^provider ci: authn\.condition 1:\d+: syntax error/);
  });
});

describe("validateProviderConfig: parsed", () => {
  it("accepts entries only for present conditions", () => {
    const stored = withParsedConditions({ ...config, authz: undefined } as ProviderConfig);
    const { authz: _z, ...noAuthz } = config;
    const withStray = { ...withParsedConditions(noAuthz), parsed: { ...withParsedConditions(config).parsed } };
    expect(validateProviderConfig(JSON.parse(JSON.stringify(stored))).ok).toBe(true);
    expect(validateProviderConfig(withStray)).toEqual({ ok: false, error: "parsed has entries without a condition: authz" });
    expect(validateProviderConfig({ ...withParsedConditions(config), parsed: [] })).toEqual({ ok: false, error: "parsed must be an object" });
  });
});
