import { describe, expect, it } from "vitest";
import { checkClaimSchema, claimSchemaFor, CLAIM_SCHEMAS, closestName } from "./claim-schema.ts";

const github = CLAIM_SCHEMAS.github;
const messages = (source: string, schema = github) => checkClaimSchema(source, schema).map((f) => f.message);

describe("claimSchemaFor", () => {
  it.each([
    ["https://token.actions.githubusercontent.com", "GitHub Actions"],
    ["https://ghes.example.com/_services/token", "GitHub Actions"],
    ["https://gitlab.com", "GitLab CI/CD"],
    ["https://agent.buildkite.com", "Buildkite"],
    ["https://oidc.circleci.com/org/0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c", "CircleCI"],
    ["https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", "Bitbucket Pipelines"],
    ["https://app.terraform.io", "HCP Terraform"],
    ["https://kubernetes.default.svc.cluster.local", "Kubernetes service account"],
    ["https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123", "Kubernetes service account"],
  ])("%s is %s", (issuer, platform) => {
    expect(claimSchemaFor(issuer)?.platform).toBe(platform);
  });

  it("knows nothing of other issuers", () => {
    expect(claimSchemaFor("https://ci.example.com")).toBeUndefined();
    expect(claimSchemaFor("not a url")).toBeUndefined();
  });
});

describe("checkClaimSchema", () => {
  it("names an unknown claim and the likely one, however it is reached", () => {
    const hint = "claims.repositry_owner_id is not a claim of GitHub Actions tokens; did you mean claims.repository_owner_id?";
    expect(messages('claims.repositry_owner_id == "1"')).toEqual([hint]);
    expect(messages('claims["repositry_owner_id"] == "1"')).toEqual([hint]);
    expect(messages('has(claims.repositry_owner_id) && claims.repository_owner_id == "1"')).toEqual([hint]);
    expect(messages('"repositry_owner_id" in claims')).toEqual([hint]);
    expect(messages('claims.ref == "x" || claims.refz == "y"')).toEqual(["claims.refz is not a claim of GitHub Actions tokens; did you mean claims.ref?"]);
  });

  it("says nothing of a name far from every claim beyond that it is unknown", () => {
    expect(messages('claims.team == "blue"')).toEqual(["claims.team is not a claim of GitHub Actions tokens"]);
  });

  it("accepts known claims, registered claims, and claims read through a comprehension variable", () => {
    expect(messages('claims.repository_owner_id == "1" && claims.sub.startsWith("repo:") && claims.exp > 0 && has(claims.environment)')).toEqual([]);
    expect(messages('["a"].exists(claims, claims == "a")')).toEqual([]);
  });

  it("flags a literal of the wrong type, on either side and in a list", () => {
    expect(messages("claims.repository_owner_id == 1")).toEqual([
      'claims.repository_owner_id is a string in GitHub Actions tokens, compared here with a number, which it never equals (quote it: claims.repository_owner_id == "1")',
    ]);
    expect(messages("1 != claims.repository_id")).toHaveLength(1);
    expect(messages('claims.repository_owner_id in ["1", 2]')).toHaveLength(1);
    expect(messages("claims.build_number == 3", CLAIM_SCHEMAS.buildkite)).toEqual([]);
    expect(messages("claims.build_tag == null", CLAIM_SCHEMAS.buildkite)).toEqual([]);
    expect(messages('claims.build_number == "3"', CLAIM_SCHEMAS.buildkite)).toHaveLength(1);
  });

  it("follows nested maps where the schema knows their fields", () => {
    const k8s = CLAIM_SCHEMAS.kubernetes;
    expect(messages('claims["kubernetes.io"].namespace == "a" && claims["kubernetes.io"].serviceaccount.name == "b"', k8s)).toEqual([]);
    expect(messages('claims["kubernetes.io"].namspace == "a"', k8s)).toEqual(['claims["kubernetes.io"].namspace is not a claim of Kubernetes service account tokens; did you mean claims["kubernetes.io"].namespace?']);
    expect(messages('has(claims["kubernetes.io"].pod.nme)', k8s)).toEqual(['claims["kubernetes.io"].pod.nme is not a claim of Kubernetes service account tokens; did you mean claims["kubernetes.io"].pod.name?']);
    expect(messages('"namespce" in claims["kubernetes.io"]', k8s)).toHaveLength(1);
    expect(messages('claims["kubernetes.io"].namespace == 3', k8s)).toHaveLength(1);
  });

  it("gives the offset of the finding, for its line", () => {
    const source = 'claims.ref == "x" &&\n  claims.refz == "y"';
    const [finding] = checkClaimSchema(source, github);
    expect(source.slice(0, finding?.offset).split("\n")).toHaveLength(2);
  });

  it("leaves an unparsable condition to the compiler", () => {
    expect(messages("claims.(")).toEqual([]);
  });

  it("suggests only near names", () => {
    expect(closestName("namespace_idd", ["namespace_id", "project_id"])).toBe("namespace_id");
    expect(closestName("zzz", ["namespace_id"])).toBeUndefined();
  });
});
