import { describe, expect, it } from "vitest";
import { evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { compileProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { discoveryUrlFor } from "@jwt-registry-auth/core/providers/validate";
import { MAX_ACTIONS_PER_SCOPE, MAX_SCOPES_PER_REQUEST, parseTokenRequest } from "@jwt-registry-auth/worker/token/request";
import { WORST_ACTIONS, WORST_EVALUATIONS, worstAuthzCondition, worstQuery } from "./worst-request.ts";

const SERVICE = "registry.example.com";
const AUTH = { Authorization: `Basic ${btoa("gha-worst:a.b.c")}` };

const parse = (scopeCount?: number) => parseTokenRequest(new Request(`http://127.0.0.1/token?${worstQuery(SERVICE, scopeCount)}`, { headers: AUTH }));

describe("the worst admitted token request", () => {
  it("is exactly the server's caps: 32 distinct scopes of 8 distinct actions, and the token server's parser admits it", async () => {
    const parsed = await parse();
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { scopes } = parsed.value;
    expect(scopes).toHaveLength(MAX_SCOPES_PER_REQUEST);
    expect(new Set(scopes.map((s) => s.name)).size).toBe(MAX_SCOPES_PER_REQUEST);
    for (const scope of scopes) {
      expect(scope.type).toBe("repository");
      expect(scope.actions).toEqual(WORST_ACTIONS);
    }
    expect(new Set(WORST_ACTIONS).size).toBe(MAX_ACTIONS_PER_SCOPE);
    expect(WORST_ACTIONS).toContain("*");
    expect(scopes.reduce((n, s) => n + s.actions.length, 0)).toBe(WORST_EVALUATIONS);
  });

  it("one scope more is refused with the cap stated", async () => {
    const parsed = await parse(MAX_SCOPES_PER_REQUEST + 1);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.kind).toBe("bad_request");
    expect(parsed.problem).toMatchObject({ message: expect.stringContaining(`at most ${MAX_SCOPES_PER_REQUEST}`) });
  });

  it("its authz condition evaluates and grants every action, * included, to a main-branch job, and only pull elsewhere", () => {
    const issuer = "https://token.actions.githubusercontent.com";
    const config: ProviderConfig = { name: "gha-worst", issuer, keys: { source: "discovery", discoveryUrl: discoveryUrlFor(issuer) }, audiences: [SERVICE], authz: worstAuthzCondition(), refreshSeconds: 0 };
    const compiled = compileProvider(config);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.value.provider.authz?.namesWildcardAction).toBe(true);
    const granted = (ref: string) =>
      WORST_ACTIONS.filter(
        (action) => evaluateAuthz(compiled.value.provider, { service: SERVICE, claims: { repository_owner_id: "1234567", ref }, scope: { type: "repository", name: "example-org/repo-00", action } }).allowed,
      );
    expect(granted("refs/heads/main")).toEqual(WORST_ACTIONS);
    expect(granted("refs/heads/feature")).toEqual(["pull"]);
  });
});
