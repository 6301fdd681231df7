import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";

const dir = mkdtempSync(join(tmpdir(), "jra-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("policy validate", () => {
  it("loads the PoC's file with warnings naming file:line, exit 0", async () => {
    // The PoC README's provider pins the owner by name: it loads, and the warning names the immutable claim.
    const authn = `    authn:\n      condition: |\n        claims["repository_owner"] == "foobar"\n`;
    const file = write("poc.yaml", `server: { listenAddress: ":5000" }\nproviders:\n  - name: gha\n    oidcDiscoveryURL: https://token.actions.githubusercontent.com\n${authn}`);
    const io = captureIo();
    expect(await policyCommand(["validate", file], io)).toBe(0);
    expect(io.stderr).toEqual([
      `${file}:1:1: warning: 'server' is ignored: the token server's settings live in wrangler.toml (vars and secrets), not in this file`,
      expect.stringMatching(new RegExp(`^${file}:3:5: warning: provider "gha" has no audiences`)),
      expect.stringMatching(new RegExp(`^${file}:3:5: warning: provider "gha" has no authz condition`)),
      expect.stringMatching(new RegExp(`^${file}:7:9: warning: provider "gha" pins the GitHub owner .* by claims\\.repository_owner, a name: .*pin the immutable claims\\.repository_owner_id instead`)),
    ]);
  });

  it("refuses a provider on a shared issuer that pins no owner, naming file:line and the claim, exit 1", async () => {
    const file = write("unpinned.yaml", `providers:\n  - name: gha\n    issuer: https://token.actions.githubusercontent.com\n    audiences: [r.example]\n    authz: {condition: "scope.action == 'pull'"}\n`);
    const io = captureIo();
    expect(await policyCommand(["validate", file], io)).toBe(1);
    expect(io.stderr).toEqual([expect.stringMatching(new RegExp(`^${file}:3:13: error: provider "gha" trusts the shared GitHub Actions issuer .*claims\\.repository_owner_id == "<owner id>"`))]);
  });

  it("prints each error as file:line:column and exits 1", async () => {
    const file = write("bad.yaml", "providers:\n  - name: gha\n    issuer: https://i.example\n    authz:\n      condition: |\n        scope.action == 'pull' &&\n          claims.sub ==\n");
    const io = captureIo();
    expect(await policyCommand(["validate", file], io)).toBe(1);
    // Line 7 is the condition's second line; `==` is at column 22 (block indent 8 + CEL column 14).
    expect(io.stderr).toEqual([expect.stringMatching(new RegExp(`^${file}:7:22: error: authz\\.condition: syntax error`)), expect.stringMatching(/warning: provider "gha" has no audiences/)]);
    expect(io.stdout).toEqual([`${file}: invalid: 1 error(s), 1 warning(s)`]);
  });

  it("warns on policy hazards at their file:line:column with the safe form, exit 0", async () => {
    const file = write(
      "hazards.yaml",
      [
        "providers:",
        "  - name: gha",
        "    issuer: https://i.example",
        "    audiences: [r.example]",
        "    authz:",
        "      condition: |",
        '        scope.action != "delete" &&',
        '        scope.name.matches("acme/[a-z]+") &&',
        '        !(claims.team in ["blocked"])',
        "",
      ].join("\n"),
    );
    const io = captureIo();
    expect(await policyCommand(["validate", file], io)).toBe(0);
    expect(io.stderr).toEqual([
      expect.stringMatching(new RegExp(`^${file}:7:9: warning: authz\\.condition: negated action check: .*e\\.g\\. scope\\.action in \\["pull", "push"\\]$`)),
      expect.stringMatching(new RegExp(`^${file}:8:9: warning: authz\\.condition: unanchored matches\\(\\) over scope\\.name: .*anchor it: scope\\.name\\.matches\\("\\^acme/\\[a-z\\]\\+\\$"\\)$`)),
      expect.stringMatching(new RegExp(`^${file}:9:11: warning: authz\\.condition: negated membership over claims\\.team: .*type\\(claims\\.team\\) == string && `)),
    ]);
    expect(io.stdout).toEqual([`${file}: valid: 1 provider(s) (gha), 0 error(s), 3 warning(s)`]);
  });

  it("refuses a 30 MB file by its size, in well under a second, exit 1", async () => {
    const text = `providers:\n  - name: gha\n    description: "${"a".repeat(30_000_000)}"\n    issuer: https://i.example\n`;
    const file = write("big.yaml", text);
    const io = captureIo();
    const started = Date.now();
    expect(await policyCommand(["validate", file], io)).toBe(1);
    // It used to take 12 s to say "must be a non-empty string"; 2 s leaves room for a busy machine.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(io.stderr).toEqual([`${file}:1:1: error: the file is ${text.length} bytes; the limit is 1048576 bytes (1 MiB), so it was not parsed`]);
  });

  it("names an oversized description at its line with the limit", async () => {
    const file = write("long.yaml", `providers:\n  - name: gha\n    description: "${"a".repeat(5000)}"\n    issuer: https://i.example\n    audiences: [r.example]\n    authz: {condition: "scope.action == 'pull'"}\n`);
    const io = captureIo();
    expect(await policyCommand(["validate", file], io)).toBe(1);
    expect(io.stderr).toEqual([`${file}:3:18: error: description is 5000 characters; the limit is 1024`]);
  });

  it("reports an unreadable file as an error, exit 1", async () => {
    const io = captureIo();
    expect(await policyCommand(["validate", join(dir, "missing.yaml")], io)).toBe(1);
    expect(io.stderr[0]).toMatch(/missing\.yaml:1:1: error: cannot read the file \(ENOENT\)/);
  });
});
