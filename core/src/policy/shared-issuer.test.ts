import { parse } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { checkSharedIssuer, requiredPins, sharedIssuerOf, UNPINNED_ACKNOWLEDGED } from "./shared-issuer.ts";

const GITHUB = "https://token.actions.githubusercontent.com";

/** The claims a condition pins whenever it is true ("eq" or "prefix"), or "never". */
function pins(source: string): Record<string, string> | "never" {
  const result = requiredPins(parse(source));
  return result === "never" ? "never" : Object.fromEntries([...result].map(([claim, pin]) => [claim, pin.kind]));
}

/** The guard's findings for a GitHub provider with this authn, as "severity at message-start". */
function github(authn: string | undefined, sharedIssuer?: string) {
  return checkSharedIssuer({ name: "gha", issuer: GITHUB, ...(authn !== undefined && { authn }), ...(sharedIssuer !== undefined && { sharedIssuer }) });
}

describe("requiredPins: what every path through the condition needs", () => {
  it.each([
    // The cases.
    ['a || claims.repository_owner_id == "1"', {}],
    ['claims.repository_owner_id == "1" && x', { repository_owner_id: "eq" }],
    ['claims.repository_owner_id in ["1", "2"]', { repository_owner_id: "eq" }],
    ['has(claims.repository_owner_id) && claims.repository_owner_id == "1"', { repository_owner_id: "eq" }],
    // An absent claim must not log in: `!has(x) ||` is no guard.
    ['!has(claims.repository_owner_id) || claims.repository_owner_id == "1"', {}],
    // CEL's != is exactly the negation of ==, and an error refuses: !(x != "1") is x == "1".
    ['!(claims.repository_owner_id != "1")', { repository_owner_id: "eq" }],
    ['!(claims.repository_owner_id == "1")', {}],
    // De Morgan: !(a || b) needs both !a and !b; !(a && b) needs only one.
    ['!(claims.repository_owner_id != "1" || claims.x == "y")', { repository_owner_id: "eq" }],
    ['!(claims.repository_owner_id != "1" && claims.x != "y")', {}],
    // A false branch can never be true, so the other branch decides.
    ['c ? claims.repository_owner_id == "1" : false', { repository_owner_id: "eq" }],
    ['c ? claims.repository_owner_id == "1" : true', {}],
    ['c ? claims.repository_owner_id == "1" : claims.repository_owner_id == "2"', { repository_owner_id: "eq" }],
    ['claims.repository_owner_id == "1" ? true : false', { repository_owner_id: "eq" }],
    // The index form, either side of ==, numbers.
    ['claims["repository_owner_id"] == "1"', { repository_owner_id: "eq" }],
    ['"1" == claims.repository_owner_id', { repository_owner_id: "eq" }],
    ["claims.repository_owner_id == 1234567", { repository_owner_id: "eq" }],
    // Both sides pin the same claim: a pin (to one of two values).
    ['claims.repository_owner_id == "1" || claims.repository_owner_id == "2"', { repository_owner_id: "eq" }],
    ['claims.repository_owner_id == "1" || claims.repository_id == "2"', {}],
    ['(claims.repository_owner_id == "1" || false) && scope_free', { repository_owner_id: "eq" }],
    // Not pins: a non-literal, an empty string, an empty list, a computed value, a comprehension, a nested claim.
    ["claims.repository_owner_id == claims.actor_id", {}],
    ['claims.repository_owner_id == ""', {}],
    ["claims.repository_owner_id in []", {}],
    ['string(claims.repository_owner_id) == "1"', {}],
    ['[claims.repository_owner_id].exists(x, x == "1")', {}],
    ['claims.x.repository_owner_id == "1"', {}],
    ['claims.repository_owner_id != "1"', {}],
    ['claims.repository_owner_id.startsWith("1")', { repository_owner_id: "prefix" }],
    ['claims.sub.startsWith("repo:acme/") && claims.repository_owner == "acme"', { sub: "prefix", repository_owner: "eq" }],
    ["true", {}],
  ])("%s → %j", (source, expected) => {
    expect(pins(source)).toEqual(expected);
  });

  it("a condition that can never be true pins everything", () => {
    expect(pins("false")).toBe("never");
    expect(pins('false && claims.x == "1"')).toBe("never");
  });
});

describe("sharedIssuerOf", () => {
  it.each([
    [GITHUB, "GitHub Actions", "shared"],
    [`${GITHUB}/`, "GitHub Actions", "shared"],
    [`${GITHUB}/acme-enterprise`, "GitHub Actions", "shared"],
    ["https://github.example.com/_services/token", "GitHub Enterprise Server Actions", "shared"],
    ["https://gitlab.com", "GitLab.com CI/CD", "shared"],
    ["https://agent.buildkite.com", "Buildkite", "shared"],
    ["https://app.terraform.io", "HCP Terraform", "shared"],
    ["https://oidc.circleci.com/org/0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c", "CircleCI", "id"],
    ["https://oidc.circleci.com", "CircleCI", "malformed"],
    ["https://oidc.circleci.com/org/acme", "CircleCI", "malformed"],
    ["https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "Bitbucket Pipelines", "name"],
  ])("%s is %s (%s)", (issuer, platform, issuerPins) => {
    expect(sharedIssuerOf(issuer)).toMatchObject({ platform, issuerPins });
  });

  it.each(["https://kubernetes.default.svc.cluster.local", "https://gitlab.example.com", "https://issuer.example/github", "http://127.0.0.1:8080/gh"])("%s is not shared", (issuer) => {
    expect(sharedIssuerOf(issuer)).toBeUndefined();
  });
});

describe("checkSharedIssuer", () => {
  it("accepts an immutable-id pin, with nothing to say", () => {
    expect(github('claims.repository_owner_id == "1234567"')).toEqual([]);
    expect(github('claims.repository_id in ["1", "2"] && claims.ref == "refs/heads/main"')).toEqual([]);
  });

  it("no authn at all is an error at the issuer, with the pin to add", () => {
    expect(github(undefined)).toEqual([
      {
        severity: "error",
        at: "issuer",
        message: expect.stringMatching(/^provider "gha" trusts the shared GitHub Actions issuer .* has no authn condition, so every one of them logs in; add authn: \{condition: 'claims.repository_owner_id == "<owner id>"'\}/),
      },
    ]);
  });

  it("an authn that pins nothing is an error naming the claims to pin", () => {
    const [finding, ...rest] = github('a || claims.repository_owner_id == "1"'.replace("a", "claims.ref == 'x'"));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ severity: "error", at: "authn" });
    expect(finding?.message).toContain("pin claims.repository_owner_id or claims.repository_id by equality or membership");
    expect(finding?.message).toContain(`set sharedIssuer: ${UNPINNED_ACKNOWLEDGED}`);
  });

  it("the PoC's name-only pin is a warning at the pin, naming the immutable claim", () => {
    const findings = github('claims.ref == "refs/heads/main" && claims.repository_owner == "acme"');
    expect(findings).toEqual([{ severity: "warning", at: "authn", offset: 35, message: expect.stringContaining("by claims.repository_owner, a name") }]);
    expect(findings[0]?.message).toContain('pin the immutable claims.repository_owner_id instead (claims.repository_owner_id == "<owner id>")');
  });

  it("the opt-out turns the error into a warning, and is itself flagged where it has no effect", () => {
    expect(github(undefined, UNPINNED_ACKNOWLEDGED)).toEqual([{ severity: "warning", at: "issuer", message: expect.stringContaining("acknowledged with sharedIssuer: unpinned-acknowledged") }]);
    expect(github("claims.ref == 'refs/heads/main'", UNPINNED_ACKNOWLEDGED)).toMatchObject([{ severity: "warning", at: "authn" }]);
    expect(github('claims.repository_owner_id == "1"', UNPINNED_ACKNOWLEDGED)).toEqual([
      { severity: "warning", at: "sharedIssuer", message: "sharedIssuer: unpinned-acknowledged has no effect: authn pins claims.repository_owner_id; remove it" },
    ]);
    expect(checkSharedIssuer({ name: "k8s", issuer: "https://kubernetes.default.svc", sharedIssuer: UNPINNED_ACKNOWLEDGED })).toMatchObject([{ severity: "warning", at: "sharedIssuer" }]);
  });

  it.each([
    ["https://gitlab.com", 'claims.namespace_id == "12885807"', 'claims.namespace_path == "acme"', "claims.namespace_id"],
    ["https://gitlab.com", 'claims.project_id == "53804090"', 'claims.project_path == "acme/app"', "claims.namespace_id"],
    ["https://agent.buildkite.com", 'claims.organization_id == "0184990a-4782-42b5-afc1-16715b10b8ff"', 'claims.organization_slug == "acme"', "claims.organization_id"],
    ["https://app.terraform.io", 'claims.terraform_organization_id == "org-abc"', 'claims.terraform_organization_name == "acme"', "claims.terraform_organization_id"],
    ["https://github.example.com/_services/token", 'claims.repository_owner_id == "1"', 'claims.repository_owner == "acme"', "claims.repository_owner_id"],
  ])("%s: an id pin passes, a name pin warns (%s / %s)", (issuer, pinned, named, immutable) => {
    expect(checkSharedIssuer({ name: "p", issuer, authn: pinned })).toEqual([]);
    const [warning] = checkSharedIssuer({ name: "p", issuer, authn: named });
    expect(warning?.severity).toBe("warning");
    expect(warning?.message).toContain(`pin the immutable ${immutable} instead`);
    expect(checkSharedIssuer({ name: "p", issuer, authn: "true" })).toMatchObject([{ severity: "error", at: "authn" }]);
  });

  it("CircleCI: the issuer carries the organization id, so it pins; an issuer without one is an error", () => {
    expect(checkSharedIssuer({ name: "c", issuer: "https://oidc.circleci.com/org/0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c" })).toEqual([]);
    expect(checkSharedIssuer({ name: "c", issuer: "https://oidc.circleci.com" })).toMatchObject([{ severity: "error", at: "issuer", message: expect.stringContaining("https://oidc.circleci.com/org/<organization id>") }]);
  });

  it("Bitbucket: the issuer names the workspace by slug, a warning until workspaceUuid is pinned", () => {
    const issuer = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc";
    expect(checkSharedIssuer({ name: "b", issuer })).toMatchObject([{ severity: "warning", message: expect.stringContaining("claims.workspaceUuid") }]);
    expect(checkSharedIssuer({ name: "b", issuer, authn: 'claims.workspaceUuid == "{a1b2}"' })).toEqual([]);
  });

  it("a pin to a number still pins, with a warning: these platforms send ids as strings, and no number equals one", () => {
    for (const authn of ["claims.repository_owner_id == 1234567", 'claims.repository_owner_id in ["1", 2]', 'claims.repository_owner_id == 1 || claims.repository_owner_id == "2"']) {
      expect(github(authn)).toEqual([{ severity: "warning", at: "authn", offset: 0, message: expect.stringContaining("sends claims.repository_owner_id as a string, which a number never equals") }]);
    }
    expect(github('claims.repository_owner_id in ["1", "2"]')).toEqual([]);
  });

  it("an authz pin does not count: authn is what logs in", () => {
    expect(github(undefined)[0]?.severity).toBe("error");
  });
});
