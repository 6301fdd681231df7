import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";

const dir = mkdtempSync(join(tmpdir(), "jra-validate-schema-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: readonly string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function validate(...argv: string[]) {
  const io = captureIo();
  const code = await policyCommand(["validate", ...argv], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.filter((line) => / (is not a claim of|compared here with) /.test(line)) };
}

const typo = write("typo.yaml", [
  "providers:",
  "  - name: gha",
  "    issuer: https://token.actions.githubusercontent.com",
  "    audiences: [registry.example.com]",
  "    authn:",
  "      condition: |",
  '        claims.repository_owner_id == "1234567" &&',
  '          claims.repositry == "acme/app"',
  "    authz:",
  "      condition: 'claims.repository_id == 7654321'",
]);

describe("policy validate: claim schemas", () => {
  it("warns of an unknown claim and a type mismatch at their file:line:column, naming the likely claim", async () => {
    const { code, out, err } = await validate(typo);
    expect(code).toBe(0);
    expect(err).toEqual([
      `${typo}:8:11: warning: provider "gha" authn.condition: claims.repositry is not a claim of GitHub Actions tokens; did you mean claims.repository?`,
      expect.stringMatching(new RegExp(`^${typo}:10:43: warning: provider "gha" authz\\.condition: claims\\.repository_id is a string in GitHub Actions tokens, compared here with a number`)),
    ]);
    expect(out).toBe(`${typo}: valid: 1 provider(s) (gha), 0 error(s), 3 warning(s)`);
  });

  it("--strict makes them errors (exit 1)", async () => {
    const { code, out, err } = await validate(typo, "--strict");
    expect(code).toBe(1);
    expect(err[0]).toMatch(new RegExp(`^${typo}:8:11: error: .*did you mean claims\\.repository\\?`));
    expect(out).toBe(`${typo}: invalid: 2 error(s), 1 warning(s)`);
  });

  it("says nothing for an issuer it has no schema for, or a clean file", async () => {
    const other = write("other.yaml", ["providers:", "  - name: ci", "    issuer: https://ci.example.com", "    audiences: [registry.example.com]", "    authn: { condition: 'claims.team == \"blue\"' }"]);
    expect(await validate(other, "--strict")).toMatchObject({ code: 0, err: [] }); // only the other checks' warnings
    const k8s = write("k8s.yaml", [
      "providers:",
      "  - name: cluster",
      "    issuer: https://kubernetes.default.svc.cluster.local",
      "    audiences: [registry.example.com]",
      "    authn: { condition: 'claims[\"kubernetes.io\"].namespce == \"a\"' }",
    ]);
    const found = await validate(k8s);
    expect(found.err).toEqual([`${k8s}:5:26: warning: provider "cluster" authn.condition: claims["kubernetes.io"].namespce is not a claim of Kubernetes service account tokens; did you mean claims["kubernetes.io"].namespace?`]);
  });
});
