import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "../oidc-issuer.ts";

const ORG = "3f0c9d2e-8a7b-4c6d-9e1f-2a3b4c5d6e7f";

describe("CI claim shapes from the local issuer", () => {
  let issuer: OidcIssuer;
  beforeAll(async () => {
    issuer = await startOidcIssuer();
  });
  afterAll(() => issuer.close());

  const verify = async (token: string, iss: string) => (await jwtVerify(token, createRemoteJWKSet(new URL(`${iss}/.well-known/jwks`)), { issuer: iss })).payload;

  it("GitLab: ids and flags are strings, the default sub, 1 h", async () => {
    const claims = await verify(await issuer.gitlab({ namespaceId: "42", audience: "registry.example.com" }), issuer.url);
    expect(claims).toMatchObject({ sub: "project_path:acme/app:ref_type:branch:ref:main", aud: "registry.example.com", namespace_id: "42", ref_protected: "true", ref: "main" });
    expect(typeof claims["project_id"]).toBe("string");
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
  });

  it("Buildkite: organization_id only when asked for, build_number a number, 5 min", async () => {
    const claims = await verify(await issuer.buildkite({ organizationId: "org-uuid", stepKey: "push" }), issuer.url);
    expect(claims).toMatchObject({ organization_slug: "acme", organization_id: "org-uuid", build_tag: null, step_key: "push" });
    expect(claims.sub).toMatch(/^organization:acme:pipeline:app:ref:refs\/heads\/main:commit:[0-9a-f]{40}:step:push$/);
    expect(typeof claims["build_number"]).toBe("number");
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
    expect(await verify(await issuer.buildkite({ optionalClaims: [] }), issuer.url)).not.toHaveProperty("organization_id");
  });

  it("CircleCI: a per-organization issuer, aud the org id, 1 h", async () => {
    const iss = issuer.circleciIssuer(ORG);
    expect(iss).toBe(`${new URL(issuer.url).origin}/org/${ORG}`);
    const claims = await verify(await issuer.circleci({ organizationId: ORG }), iss);
    expect(claims.aud).toBe(ORG);
    expect(claims.sub).toMatch(new RegExp(`^org/${ORG}/project/[0-9a-f-]{36}/user/[0-9a-f-]{36}$`));
    expect(claims["oidc.circleci.com/context-ids"]).toEqual(["a74579f1-2e7d-451e-b009-5c082ad2729e"]);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
    // Another organization's issuer has other keys: its token does not verify as this one's.
    await expect(verify(await issuer.circleci({ organizationId: "00000000-0000-0000-0000-000000000000" }), iss)).rejects.toThrow();
  });
});
