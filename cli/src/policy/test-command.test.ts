import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
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
    expect(out).toMatch(/repository:other\/app:pull +refused {2}\(authz: false at .*examples\/providers\.yaml:29 \(condition 3:1\): scope\.name\.startsWith\("example-org\/"\)\)/);
  });

  it("explains each refusal as the token server logs it: the term, its line:column in the condition, the missing claim", async () => {
    const feature = { ...github, ref: "refs/heads/feature" };
    const { out } = await run("--claims", JSON.stringify(feature), "--scope", "repository:example-org/app:push,delete");
    // Each refused term with its line in the file (examples/providers.yaml) and its row:column in the condition (issue 10).
    expect(out).toContain(`repository:example-org/app:push    refused  (authz: false at ${example}:30 (condition 4:2): scope.action == "pull"; false at ${example}:31 (condition 5:30): claims.ref == "refs/heads/main")`);
    expect(out).toContain(`repository:example-org/app:delete  refused  (authz: false at ${example}:30 (condition 4:2): scope.action == "pull"; false at ${example}:31 (condition 5:4): scope.action == "push")`);
    const { repository_owner_id: _, ...noOwner } = github;
    const missing = await run("--claims", JSON.stringify(noOwner), "--scope", "repository:example-org/app:pull");
    expect(missing.out).toContain(
      `authn:    refused (authn: error at ${example}:22 (condition 1:1): claims.repository_owner_id == "1234567": field not found: repository_owner_id (claims.repository_owner_id is missing))`,
    );
  });

  it("refuses everything when authn refuses, and says so", async () => {
    const claimsFile = join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify({ ...github, repository_owner_id: "999" }));
    const { code, out } = await run("--claims", `@${claimsFile}`, "--scope", "repository:example-org/app:pull");
    expect(code).toBe(0);
    expect(out).toContain(`authn:    refused (authn: false at ${example}:22 (condition 1:1): claims.repository_owner_id == "1234567")`);
    expect(out).toContain("authentication refused, so every scope is refused");
    expect(out).toMatch(/repository:example-org\/app:pull {2}refused {2}\(authn refused\)/);
  });

  it("refuses an unsigned --token at the header check, as the server does, without fetching keys or printing the token", async () => {
    const token = new UnsecuredJWT({ ...github, ref: "refs/heads/feature" }).setExpirationTime("5m").encode();
    const { code, out, err } = await run("--token", token, "--scope", "repository:example-org/app:push", "--expect", "deny");
    expect(code).toBe(0);
    expect(out).toMatch(/claims: {3}decoded from --token \(token sha256 [0-9a-f]{64}\)/);
    expect(out).toContain("identity: refused (identity check header: disallowed_alg: signing algorithm not allowed)");
    expect(out).toMatch(/repository:example-org\/app:push {2}refused {2}\(identity check header: disallowed_alg/);
    expect(`${out}${err}`).not.toContain(token);
    expect(`${out}${err}`).not.toContain(token.split(".")[1]);
  });

  it("runs iss, aud and exp on --claims that carry them: the wrong audience is refused as the server refuses it", async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const wrongAud = await run("--claims", JSON.stringify({ ...github, aud: "elsewhere", exp }), "--scope", "repository:example-org/app:pull", "--expect", "allow");
    expect(wrongAud.code).toBe(3);
    expect(wrongAud.out).toContain("identity: refused (identity check aud: wrong_audience: unexpected audience)");
    expect(wrongAud.err).toContain("expected allow for every scope action; repository:example-org/app:pull was not");
    const expired = await run("--claims", JSON.stringify({ ...github, exp: exp - 3600 }), "--scope", "repository:example-org/app:pull");
    expect(expired.code).toBe(0);
    expect(expired.out).toContain("identity: refused (identity check exp: expired: token has expired)");
    const good = await run("--claims", JSON.stringify({ ...github, exp }), "--scope", "repository:example-org/app:pull", "--expect", "allow");
    expect(good.code).toBe(0);
    expect(good.out).toContain("identity: accepted");
    const partial = await run("--claims", JSON.stringify(github), "--scope", "repository:example-org/app:pull");
    expect(partial.out).toContain("identity: not checked (the claims lack exp;");
    expect((await run("--claims", JSON.stringify(github), "--scope", "repository:a/b:pull", "--expect", "maybe")).code).toBe(2);
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

describe("policy test --token: the signature", () => {
  const ISSUER = "https://ci.example.com";
  const providersFile = (name: string, keys: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        "providers:",
        `  - name: ${name}`,
        keys,
        "    audiences: [registry.example.com]",
        "    authn: { condition: 'claims.team == \"blue\"' }",
        "    authz: { condition: 'scope.action == \"pull\"' }",
        "",
      ].join("\n"),
    );
    return file;
  };
  const sign = async (key: CryptoKey, claims: Record<string, unknown>, aud = "registry.example.com") =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).setIssuer(ISSUER).setAudience(aud).setExpirationTime("5m").sign(key);
  const test = async (file: string, token: string, ...extra: string[]) => {
    const io = captureIo();
    const code = await policyCommand(["test", file, "--service", "registry.example.com", "--token", token, "--scope", "repository:a/b:pull,push", ...extra], io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };

  it("is checked with a static-key provider's keys; a token another key signed is refused at the signature, and a wrong aud after it", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pem = (await exportSPKI(publicKey)).trim().split("\n").map((line) => `          ${line}`).join("\n");
    const file = providersFile("static", `    issuer: ${ISSUER}\n    staticKeys:\n      - key: |\n${pem}`);
    const good = await test(file, await sign(privateKey, { sub: "job", team: "blue" }));
    expect(good.err).toBe("");
    expect(good.out).toMatch(/claims: {3}decoded from --token \(token sha256 [0-9a-f]{64}\)/);
    expect(good.out).toContain("signature: checked with the provider's staticKeys");
    expect(good.out).toContain("identity: accepted");
    expect(good.out).toContain("authn:    allowed (authn condition is true)");
    expect(good.out).toContain(`repository:a/b:push  refused  (authz: false at ${file}:12 (condition 1:1): scope.action == "pull")`);

    const stranger = await generateKeyPair("ES256");
    const forged = await test(file, await sign(stranger.privateKey, { sub: "job", team: "red" }));
    expect(forged.out).toContain("identity: refused (identity check signature: bad_signature: signature verification failed)");
    expect(forged.out).not.toContain("authn:");
    const otherAud = await test(file, await sign(privateKey, { sub: "job", team: "blue" }, "other.example.com"), "--expect", "deny");
    expect(otherAud.code).toBe(0);
    expect(otherAud.out).toContain("identity: refused (identity check aud: wrong_audience: unexpected audience)");
  });

  it("says \"signature not verified\" and why when a discovery issuer can't be reached, and still runs the other checks", async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const file = providersFile("unreachable", "    issuer: http://127.0.0.1:9");
    const { privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({ sub: "job", team: "blue" }).setProtectedHeader({ alg: "ES256" }).setIssuer("http://127.0.0.1:9").setAudience("registry.example.com").setExpirationTime("5m").sign(privateKey);
    const { code, out } = await test(file, token, "--key-timeout", "1000");
    expect(code).toBe(0);
    expect(out).toMatch(/signature: signature not verified: the provider's keys could not be had \(discovery http:\/\/127\.0\.0\.1:9\/\.well-known\/openid-configuration: .+\)/);
    expect(out).toContain("identity: accepted");
    expect(out).toContain("authn:    allowed (authn condition is true)");
    expect(out).toMatch(/repository:a\/b:pull {2}allowed/);
  });
});

describe("policy test --cases", () => {
  const exp = Math.floor(Date.now() / 1000) + 300;
  const cases = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const runCases = async (file: string) => {
    const io = captureIo();
    const code = await policyCommand(["test", example, "--service", "registry.example.com", "--cases", file], io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };
  const claims = JSON.stringify({ ...github, exp });

  it("passes when every case decides as expected", async () => {
    const file = cases("ok.yaml", ["cases:", "  - name: main pushes", `    claims: ${claims}`, "    expect:", '      "repository:example-org/app:pull,push": allow', '      "repository:other/app:pull": deny', ""].join("\n"));
    const { code, out } = await runCases(file);
    expect(code).toBe(0);
    expect(out).toContain("ok    main pushes");
    expect(out).toContain("1 of 1 case(s) passed");
  });

  it("reports every failing case with its line and reason, and exits 3", async () => {
    const wrongAud = JSON.stringify({ ...github, exp, aud: "elsewhere" });
    const file = cases(
      "fail.yaml",
      ["cases:", "  - name: wrong audience", `    claims: ${wrongAud}`, "    expect:", '      "repository:example-org/app:pull": allow', "  - name: other org", `    claims: ${claims}`, "    expect:", '      "repository:other/app:pull": allow', ""].join("\n"),
    );
    const { code, out } = await runCases(file);
    expect(code).toBe(3);
    expect(out).toContain(`FAIL  wrong audience (${file}:2, provider gha)`);
    expect(out).toContain(`  ${file}:5: repository:example-org/app:pull: expected allow, got deny (identity check aud: wrong_audience: unexpected audience)`);
    expect(out).toContain(`  ${file}:9: repository:other/app:pull: expected allow, got deny (authz: false at ${example}:29 (condition 3:1):`);
    expect(out).toContain("0 of 2 case(s) passed");
  });

  it.each([
    ["not YAML", "cases: [", /:1: not valid YAML/],
    ["no cases", "other: 1\n", /:1: `cases:` must be a non-empty list/],
    ["an unknown key", `cases:\n  - claims: ${claims}\n    expcet: {}\n`, /:3: unknown key "expcet" in case 1/],
    ["a bad outcome", `cases:\n  - claims: ${claims}\n    expect:\n      "repository:a/b:pull": yes\n`, /:4: case 1: expected outcome must be allow or deny/],
    ["a bad scope", `cases:\n  - claims: ${claims}\n    expect:\n      "repository:a/B:pull": allow\n`, /:4: case 1: /],
    ["both claims and token", `cases:\n  - claims: ${claims}\n    token: a.b.c\n    expect: { "repository:a/b:pull": allow }\n`, /:2: case 1: give exactly one of claims and token/],
  ])("refuses a cases file with %s, naming file and line (exit 2)", async (_label, text, message) => {
    const file = cases("bad.yaml", text);
    const { code, err } = await runCases(file);
    expect(code).toBe(2);
    expect(err).toContain(file);
    expect(err).toMatch(message);
  });
});
