import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bitbucketClaims, bitbucketIssuer, buildkiteClaims, circleciClaims, gitlabClaims, terraformClaims } from "@jwt-registry-auth/testkit/claim-shapes/index";
import { githubClaims, kubernetesClaims } from "@jwt-registry-auth/testkit/oidc-issuer";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";

const dir = mkdtempSync(join(tmpdir(), "jra-policy-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVICE = "registry.example.com";
const BUILDKITE_ORG = "0184990a-4782-42b5-afc1-16715b10b8ff";
const CIRCLECI_ORG = "0f5a4b3c-2d1e-4f6a-8b7c-9d0e1f2a3b4c";
const BITBUCKET_WORKSPACE = "5b1d7a6e-2c3f-4e8a-9b0c-1d2e3f4a5b6c";

async function run(...argv: string[]) {
  const io = captureIo();
  const code = await policyCommand(argv, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

/** `policy test FILE` for these claims and scopes, as the CLI runs it. */
async function decide(file: string, claims: Record<string, unknown>, scope: string) {
  return run("test", file, "--service", SERVICE, "--claims", JSON.stringify(claims), "--scope", scope);
}

const allowed = (out: string, what: string) => new RegExp(`^${what.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+allowed\\b`, "m").test(out);

interface Case {
  readonly platform: string;
  readonly flags: readonly string[];
  /** A token of the real shape for the pinned owner, and one for another owner. */
  readonly ours: Record<string, unknown>;
  readonly theirs: Record<string, unknown>;
  /** What the owner's job may do, and something it may not. */
  readonly grants: readonly string[];
  readonly refuses: readonly string[];
}

const cases: Case[] = [
  {
    platform: "github",
    flags: ["--owner-id", "1234567", "--audience", SERVICE],
    ours: { iss: "https://token.actions.githubusercontent.com", ...githubClaims({ owner: "acme", ownerId: "1234567", audience: SERVICE }) },
    // Same owner name (re-registered), another owner id.
    theirs: { iss: "https://token.actions.githubusercontent.com", ...githubClaims({ owner: "acme", ownerId: "7777777", audience: SERVICE }) },
    grants: ["repository:acme/app:pull", "repository:acme/app:push", "repository:acme/app/cache:push", "repository:acme/other:pull"],
    refuses: ["repository:acme/other:push", "repository:acme/app:delete", "repository:evil/app:pull", "registry:catalog:*"],
  },
  {
    platform: "gitlab",
    flags: ["--namespace-id", "12885807", "--audience", SERVICE],
    ours: { iss: "https://gitlab.com", ...gitlabClaims({ namespacePath: "acme", namespaceId: "12885807", audience: SERVICE }) },
    theirs: { iss: "https://gitlab.com", ...gitlabClaims({ namespacePath: "acme", namespaceId: "99", audience: SERVICE }) },
    grants: ["repository:acme/app:pull", "repository:acme/app:push", "repository:acme/tools:pull"],
    refuses: ["repository:acme/tools:push", "repository:acme/app:delete", "repository:other/app:pull"],
  },
  {
    platform: "buildkite",
    flags: ["--organization-id", BUILDKITE_ORG, "--audience", SERVICE],
    ours: { iss: "https://agent.buildkite.com", ...buildkiteClaims({ organizationSlug: "acme", organizationId: BUILDKITE_ORG, pipelineSlug: "app", audience: SERVICE }) },
    theirs: { iss: "https://agent.buildkite.com", ...buildkiteClaims({ organizationSlug: "acme", organizationId: "0184990a-0000-4000-8000-000000000000", pipelineSlug: "app", audience: SERVICE }) },
    grants: ["repository:acme/app:pull", "repository:acme/app:push", "repository:acme/lib:pull"],
    refuses: ["repository:acme/app2:push", "repository:acme/lib:push", "repository:other/app:pull"],
  },
  {
    platform: "circleci",
    flags: ["--org-id", CIRCLECI_ORG],
    ours: { iss: `https://oidc.circleci.com/org/${CIRCLECI_ORG}`, ...circleciClaims({ organizationId: CIRCLECI_ORG, vcsOrigin: "github.com/acme/app" }) },
    theirs: { iss: "https://oidc.circleci.com/org/5e6f7a8b-0000-4000-8000-000000000000", ...circleciClaims({ organizationId: "5e6f7a8b-0000-4000-8000-000000000000", vcsOrigin: "github.com/acme/app" }) },
    grants: ["repository:acme/app:pull", "repository:acme/app:push"],
    refuses: ["repository:acme/other:pull", "repository:acme/app:delete"],
  },
  {
    platform: "bitbucket",
    flags: ["--workspace", "acme", "--workspace-uuid", `{${BITBUCKET_WORKSPACE}}`],
    ours: { iss: bitbucketIssuer("acme"), ...bitbucketClaims({ workspaceUuid: BITBUCKET_WORKSPACE }) },
    // The slug re-registered by another workspace: same issuer URL, another UUID (and so another default aud).
    theirs: { iss: bitbucketIssuer("acme"), ...bitbucketClaims({ workspaceUuid: "00000000-0000-4000-8000-000000000000", audience: `ari:cloud:bitbucket::workspace/${BITBUCKET_WORKSPACE}` }) },
    grants: ["repository:acme/app:pull", "repository:acme/app:push"],
    refuses: ["repository:other/app:pull", "repository:acme/app:delete"],
  },
  {
    platform: "terraform",
    flags: ["--organization-id", "org-GRNbCjYNpBB6NEH9", "--audience", SERVICE],
    ours: { iss: "https://app.terraform.io", ...terraformClaims({ organization: "acme", organizationId: "org-GRNbCjYNpBB6NEH9", audience: SERVICE }) },
    theirs: { iss: "https://app.terraform.io", ...terraformClaims({ organization: "acme", organizationId: "org-0therOrgId00000", audience: SERVICE }) },
    grants: ["repository:acme/modules:pull"],
    refuses: ["repository:acme/modules:push", "repository:other/modules:pull"],
  },
  {
    platform: "kubernetes",
    flags: ["--issuer", "https://kubernetes.default.svc.cluster.local", "--namespace", "team-a", "--service-account", "puller", "--audience", SERVICE],
    ours: { iss: "https://kubernetes.default.svc.cluster.local", ...kubernetesClaims({ namespace: "team-a", serviceAccount: "puller", audience: [SERVICE] }) },
    theirs: { iss: "https://kubernetes.default.svc.cluster.local", ...kubernetesClaims({ namespace: "team-b", serviceAccount: "puller", audience: [SERVICE] }) },
    grants: ["repository:team-a/app:pull"],
    refuses: ["repository:team-a/app:push", "repository:team-b/app:pull"],
  },
];

describe("policy init", () => {
  it.each(cases)("$platform: the file validates with no errors or warnings, allows the owner's real token and refuses another owner's", async (c) => {
    const file = join(dir, `${c.platform}.yaml`);
    const written = await run("init", c.platform, "--name", `starter-${c.platform}`, ...c.flags, "--out", file);
    expect(written).toMatchObject({ code: 0, err: "" });

    const validated = await run("validate", file);
    expect(validated.err).toBe("");
    expect(validated).toMatchObject({ code: 0, out: `${file}: valid: 1 provider(s) (starter-${c.platform}), 0 error(s), 0 warning(s)` });

    for (const scope of c.grants) {
      const ours = await decide(file, c.ours, scope);
      expect(ours.code).toBe(0);
      expect(ours.out).toMatch(/^authn:\s+allowed/m);
      expect(allowed(ours.out, scope), `${scope} for the pinned owner:\n${ours.out}`).toBe(true);
    }
    for (const scope of c.refuses) {
      const ours = await decide(file, c.ours, scope);
      expect(allowed(ours.out, scope), `${scope} for the pinned owner:\n${ours.out}`).toBe(false);
    }
    const theirs = await decide(file, c.theirs, c.grants[0] ?? "");
    expect(theirs.out).toMatch(/^authn:\s+refused/m);
    expect(allowed(theirs.out, c.grants[0] ?? ""), theirs.out).toBe(false);

    // Every line of the provider but the list's own is explained by a comment above it or on it.
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^# Generated by: jwt-registry-auth policy init /);
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(8);
  });

  it.each(cases)("$platform: a signed token of the real shape passes the server's identity checks and is allowed, --expect allow", async (c) => {
    const file = join(dir, `${c.platform}-token.yaml`);
    expect((await run("init", c.platform, "--name", `token-${c.platform}`, ...c.flags, "--out", file)).code).toBe(0);
    const { privateKey } = await generateKeyPair("ES256");
    const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).setIssuedAt().setExpirationTime("5m").sign(privateKey);
    const scope = c.grants[0] ?? "";
    // The real issuers are not reachable from the tests: the signature is "not verified", every other check runs.
    const ours = await run("test", file, "--service", SERVICE, "--token", await sign(c.ours), "--scope", scope, "--expect", "allow", "--key-timeout", "1000");
    expect(ours.out).toContain("signature: signature not verified");
    expect(ours.out).toContain("identity: accepted");
    expect(ours.code, ours.out).toBe(0);
    const elsewhere = await run("test", file, "--service", SERVICE, "--token", await sign({ ...c.ours, aud: "another-registry.example.com" }), "--scope", scope, "--expect", "deny", "--key-timeout", "1000");
    expect(elsewhere.out).toContain("identity: refused (identity check aud: wrong_audience");
    expect(elsewhere.code).toBe(0);
  });

  it("github: a token without the owner id claim is refused (an absent claim never logs in)", async () => {
    const file = join(dir, "gh-absent.yaml");
    expect((await run("init", "github", "--name", "gha", "--owner-id", "1234567", "--audience", SERVICE, "--out", file)).code).toBe(0);
    const claims = githubClaims({ owner: "acme", audience: SERVICE });
    delete claims.repository_owner_id;
    expect((await decide(file, claims, "repository:acme/app:pull")).out).toMatch(/^authn:\s+refused/m);
  });

  it("buildkite: a token requested without --claim organization_id is refused", async () => {
    const file = join(dir, "bk-absent.yaml");
    expect((await run("init", "buildkite", "--name", "bk", "--organization-id", BUILDKITE_ORG, "--audience", SERVICE, "--out", file)).code).toBe(0);
    expect((await decide(file, buildkiteClaims({ organizationSlug: "acme", optionalClaims: [] }), "repository:acme/app:pull")).out).toMatch(/^authn:\s+refused/m);
  });

  it("github: push is only from the chosen branch", async () => {
    const file = join(dir, "gh-branch.yaml");
    expect((await run("init", "github", "--name", "gha", "--owner-id", "1234567", "--audience", SERVICE, "--branch", "release", "--out", file)).code).toBe(0);
    const onMain = await decide(file, githubClaims({ owner: "acme", ownerId: "1234567" }), "repository:acme/app:pull,push");
    expect(allowed(onMain.out, "repository:acme/app:pull")).toBe(true);
    expect(allowed(onMain.out, "repository:acme/app:push")).toBe(false);
    const onRelease = await decide(file, githubClaims({ owner: "acme", ownerId: "1234567", ref: "refs/heads/release" }), "repository:acme/app:push");
    expect(allowed(onRelease.out, "repository:acme/app:push")).toBe(true);
  });

  it("prints to stdout without --out, with the pin filled in", async () => {
    const printed = await run("init", "gitlab", "--name", "gl", "--namespace-id", "42", "--audience", SERVICE);
    expect(printed.code).toBe(0);
    expect(printed.out).toContain('claims.namespace_id == "42"');
    expect(printed.out).toContain("issuer: https://gitlab.com");
  });

  it("never overwrites a file", async () => {
    const file = join(dir, "existing.yaml");
    writeFileSync(file, "keep me\n");
    const result = await run("init", "github", "--name", "gha", "--owner-id", "1", "--audience", SERVICE, "--out", file);
    expect(result.code).toBe(1);
    expect(result.err).toContain("exists; policy init never overwrites a file");
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
  });

  it.each([
    [["init", "github", "--name", "gha", "--audience", SERVICE], "policy init github needs --owner-id"],
    [["init", "github", "--name", "gha", "--owner-id", "acme", "--audience", SERVICE], '--owner-id "acme" is not a GitHub owner id'],
    [["init", "github", "--name", "gha", "--owner-id", "1"], "policy init github needs --audience"],
    [["init", "github", "--name", "gha", "--owner-id", "1", "--audience", SERVICE, "--namespace-id", "2"], "policy init github does not take --namespace-id"],
    [["init", "github", "--name", "gha", "--owner-id", "1", "--audience", SERVICE, "--branch", 'main"||true'], "is not a branch name"],
    [["init", "buildkite", "--name", "bk", "--organization-id", "acme", "--audience", SERVICE], "is not a Buildkite organization UUID"],
    [["init", "circleci", "--name", "cc", "--org-id", "acme"], "is not a CircleCI organization UUID"],
    [["init", "kubernetes", "--name", "k", "--namespace", "a", "--audience", SERVICE], "needs --issuer"],
    [["init", "jenkins", "--name", "j"], 'unknown platform "jenkins"'],
    [["init", "github", "--owner-id", "1"], "--name is required"],
    [["init", "github", "--name", "GHA", "--owner-id", "1", "--audience", SERVICE], '--name "GHA" must match'],
  ])("%j is a usage error: %s", async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });
});
