/**
 * core's claim schemas (core/src/policy/claim-schema.ts) against the real token
 * shapes in testkit/src/claim-shapes: every claim a real token carries is in its platform's schema,
 * with the type the token has, so validate's warnings can't drift from the tokens.
 */
import { describe, expect, it } from "vitest";
import { CLAIM_SCHEMAS, type ClaimSpec, type ClaimSpecs } from "@jwt-registry-auth/core/policy/claim-schema";
import { githubClaims, kubernetesClaims } from "@jwt-registry-auth/testkit/oidc-issuer";
import { bitbucketClaims, buildkiteClaims, circleciClaims, gitlabClaims, terraformClaims } from "@jwt-registry-auth/testkit/claim-shapes/index";

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  return typeof value === "object" ? "map" : typeof value === "boolean" ? "bool" : typeof value;
}

/** Each claim path of `claims` that the schema lacks or types otherwise. */
function drift(claims: Readonly<Record<string, unknown>>, specs: ClaimSpecs, prefix = ""): string[] {
  return Object.entries(claims).flatMap(([name, value]) => {
    const spec: ClaimSpec | undefined = specs[name];
    const where = `${prefix}${name}`;
    if (spec === undefined) return [`${where} is missing from the schema`];
    const types: readonly string[] = typeof spec === "string" ? [spec] : Array.isArray(spec) ? spec : ["map"];
    if (!types.includes(typeOf(value))) return [`${where} is ${typeOf(value)}, the schema says ${types.join("|")}`];
    if (typeof spec === "object" && !Array.isArray(spec) && "fields" in spec) return drift(value as Record<string, unknown>, spec.fields, `${where}.`);
    return [];
  });
}

const ORG = "0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c";
const withRegistered = (claims: Record<string, unknown>, iss: string) => ({ iss, iat: 1, exp: 2, nbf: 1, ...claims });

describe("claim schemas match the real token shapes", () => {
  it.each([
    ["github", withRegistered(githubClaims({ environment: "prod" }), "https://token.actions.githubusercontent.com")],
    ["gitlab", withRegistered(gitlabClaims({ environment: "prod" }), "https://gitlab.com")],
    ["buildkite", withRegistered(buildkiteClaims({ tag: "v1", stepKey: "push" }), "https://agent.buildkite.com")],
    ["buildkite", withRegistered(buildkiteClaims(), "https://agent.buildkite.com")],
    ["circleci", withRegistered(circleciClaims({ organizationId: ORG }), `https://oidc.circleci.com/org/${ORG}`)],
    ["bitbucket", withRegistered(bitbucketClaims({ deploymentEnvironmentUuid: "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a" }), "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc")],
    ["terraform", withRegistered(terraformClaims(), "https://app.terraform.io")],
    ["kubernetes", withRegistered(kubernetesClaims({ namespace: "a", serviceAccount: "b", podName: "p" }), "https://kubernetes.default.svc.cluster.local")],
  ] as const)("%s", (platform, claims) => {
    expect(drift(claims, CLAIM_SCHEMAS[platform].claims)).toEqual([]);
  });

  it("would notice a drift", () => {
    expect(drift({ repository_owner_id: 1, repositry: "x" }, CLAIM_SCHEMAS.github.claims)).toEqual(["repository_owner_id is number, the schema says string", "repositry is missing from the schema"]);
  });
});
