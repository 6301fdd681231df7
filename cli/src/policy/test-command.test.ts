import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UnsecuredJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";

const example = fileURLToPath(new URL("../../../examples/providers.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "jra-policy-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const github = {
  iss: "https://token.actions.githubusercontent.com",
  aud: "registry.example.com",
  sub: "repo:example-org/app:ref:refs/heads/main",
  repository_owner: "example-org",
  repository_owner_id: "1234567",
  ref: "refs/heads/main",
};

async function run(...argv: string[]) {
  const io = captureIo();
  const code = await policyCommand(["test", example, "--service", "registry.example.com", ...argv], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("policy test", () => {
  it("prints allowed and refused per scope and action, with the deciding condition", async () => {
    const { code, out } = await run("--claims", JSON.stringify(github), "--scope", "repository:example-org/app:pull,push", "--scope", "repository:other/app:pull");
    expect(code).toBe(0);
    expect(out).toContain("provider: gha (issuer https://token.actions.githubusercontent.com)");
    expect(out).toContain("authn:    allowed (authn condition is true)");
    expect(out).toMatch(/repository:example-org\/app:pull {2}allowed {2}\(authz condition is true\)/);
    expect(out).toMatch(/repository:example-org\/app:push {2}allowed {2}\(authz condition is true\)/);
    expect(out).toMatch(/repository:other\/app:pull +refused {2}\(authz condition is false\)/);
  });

  it("refuses everything when authn refuses, and says so", async () => {
    const claimsFile = join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify({ ...github, repository_owner_id: "999" }));
    const { code, out } = await run("--claims", `@${claimsFile}`, "--scope", "repository:example-org/app:pull");
    expect(code).toBe(0);
    expect(out).toContain("authn:    refused (authn condition is false)");
    expect(out).toContain("authentication refused, so every scope is refused");
    expect(out).toMatch(/repository:example-org\/app:pull {2}refused {2}\(authn refused\)/);
  });

  it("decodes --token without verifying it, says so, and never prints the token", async () => {
    const token = new UnsecuredJWT({ ...github, ref: "refs/heads/feature" }).encode();
    const { code, out, err } = await run("--token", token, "--scope", "repository:example-org/app:push");
    expect(code).toBe(0);
    expect(out).toMatch(/claims: {3}decoded from --token WITHOUT verifying its signature \(token sha256 [0-9a-f]{64}\)/);
    expect(out).toMatch(/repository:example-org\/app:push {2}refused {2}\(authz condition is false\)/);
    expect(`${out}${err}`).not.toContain(token);
    expect(`${out}${err}`).not.toContain(token.split(".")[1]);
  });

  it("picks the provider by --provider, or by the claims' issuer", async () => {
    const k8s = { iss: "https://kubernetes.default.svc.cluster.local", sub: "system:serviceaccount:team-a:builder", "kubernetes.io": { namespace: "team-a" } };
    const { out } = await run("--claims", JSON.stringify(k8s), "--scope", "repository:team-a/app:pull,push");
    expect(out).toContain("provider: cluster-a");
    expect(out).toMatch(/repository:team-a\/app:pull {2}allowed/);
    expect(out).toMatch(/repository:team-a\/app:push {2}refused/);
    expect((await run("--provider", "nope", "--claims", "{}", "--scope", "repository:a/b:pull")).code).toBe(2);
    expect((await run("--claims", "{}", "--scope", "repository:a/b:pull")).err).toMatch(/choose one with --provider NAME/);
  });

  it("exits 2 on bad claims, scopes or a missing choice", async () => {
    expect((await run("--claims", "[1]", "--scope", "repository:a/b:pull")).code).toBe(2);
    expect((await run("--claims", "{", "--scope", "repository:a/b:pull")).code).toBe(2);
    expect((await run("--claims", "{}", "--token", "a.b.c", "--scope", "repository:a/b:pull")).code).toBe(2);
    const badScope = await run("--claims", JSON.stringify(github), "--scope", "repository:a/B:pull");
    expect(badScope.code).toBe(2);
    expect(badScope.err).toMatch(/--scope: scope "repository:a\/B:pull" has an invalid repository name/);
    expect((await run("--claims", JSON.stringify(github))).code).toBe(2);
    const notJwt = await run("--token", "not-a-jwt", "--scope", "repository:a/b:pull");
    expect(notJwt.code).toBe(2);
    expect(notJwt.err).not.toContain("not-a-jwt");
  });
});
