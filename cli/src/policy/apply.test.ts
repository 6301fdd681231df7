import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { withParsedConditions } from "@jwt-registry-auth/core/providers/compile-provider";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { applyPolicyFileLocal, remoteApplyArgs, remoteApplySql } from "./apply.ts";
import { InvalidPolicyFileError } from "./load.ts";
import { QUIET_ENV, WRANGLER_BIN } from "./local-d1.ts";
import { policyCommand } from "./command.ts";
import { captureIo } from "../testing.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const wranglerConfig = `${root}wrangler.toml`;
const dir = mkdtempSync(join(tmpdir(), "jra-apply-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const provider = (name: string) => `  - name: ${name}\n    issuer: https://${name}.example\n    audiences: [registry.example.com]\n    authz: {condition: "scope.action == 'pull'"}\n`;

/** What `wrangler d1 execute --local` — the same reader as `wrangler dev` — sees in the persist dir: one result list per statement. */
function wranglerQuery(persistTo: string, sql: string): unknown[] {
  const out = execFileSync(process.execPath, [WRANGLER_BIN, "d1", "execute", "POLICY_DB", "--local", "--json", "--config", wranglerConfig, "--persist-to", persistTo, "--command", sql], {
    cwd: root,
    env: { ...process.env, ...QUIET_ENV },
    encoding: "utf8",
  });
  return (JSON.parse(out) as { results: unknown[] }[]).map((r) => r.results);
}

describe("applyPolicyFileLocal", () => {
  it("writes the local D1 wrangler reads, migrating it first, and an invalid file changes nothing", async () => {
    const persistTo = join(dir, "state");
    const first = await applyPolicyFileLocal({ file: write("two.yaml", `providers:\n${provider("alpha")}${provider("beta")}`), wranglerConfig, persistTo });
    expect(first).toMatchObject({ providers: ["alpha", "beta"], version: 1 });

    const invalid = write("invalid.yaml", `providers:\n${provider("alpha")}  - name: gamma\n    issuer: https://g.example\n    authz: {condition: "claims.sub"}\n`);
    await expect(applyPolicyFileLocal({ file: invalid, wranglerConfig, persistTo })).rejects.toThrow(InvalidPolicyFileError);
    const io = captureIo();
    expect(await policyCommand(["apply", invalid, "--local", "--config", wranglerConfig, "--persist-to", persistTo, "--yes"], io)).toBe(1);
    expect(io.stderr.at(-1)).toBe(`${invalid}: not applied: the file has errors`);

    // The rows, the version, and wrangler's own migration bookkeeping (so it won't re-apply 0001).
    expect(wranglerQuery(persistTo, "SELECT name FROM providers ORDER BY name; SELECT version FROM policy_version; SELECT name FROM d1_migrations")).toEqual([
      [{ name: "alpha" }, { name: "beta" }],
      [{ version: 1 }],
      [{ name: "0001_providers.sql" }, { name: "0002_provider_id.sql" }, { name: "0003_policy_history.sql" }],
    ]);

    const oneText = `# one provider\nproviders:\n${provider("beta")}`;
    const second = await applyPolicyFileLocal({ file: write("one.yaml", oneText), wranglerConfig, persistTo, now: new Date("2026-02-03T04:05:06Z") });
    expect(second).toMatchObject({ providers: ["beta"], version: 2 });
    // Each apply is recorded, in the same batch, under the version it produced.
    const [history, historyProviders, live] = wranglerQuery(
      persistTo,
      "SELECT version, applied_at, source_sha256, source_text, provider_count, rollback_of FROM policy_history ORDER BY version; SELECT version, name, config FROM policy_history_providers ORDER BY version, name; SELECT name, config FROM providers",
    );
    expect(history).toEqual([
      expect.objectContaining({ version: 1, provider_count: 2, rollback_of: null, source_text: `providers:\n${provider("alpha")}${provider("beta")}` }),
      { version: 2, applied_at: "2026-02-03T04:05:06.000Z", source_sha256: createHash("sha256").update(oneText).digest("hex"), source_text: oneText, provider_count: 1, rollback_of: null },
    ]);
    expect(historyProviders).toHaveLength(3);
    expect(historyProviders).toContainEqual({ version: 2, ...(live as object[])[0] });
  });
});

describe("remote apply", () => {
  it("renders the same upsert-and-bump statements as one SQL file, with escaped literals", () => {
    const file = write("remote.yaml", `providers:\n  - name: quote\n    issuer: https://q.example\n    description: "it's"\n    authz:\n      condition: |\n        claims.sub == "o'brien"\n`);
    const { policy, sql } = remoteApplySql(file, new Date("2026-01-01T00:00:00Z"));
    const lines = sql.trimEnd().split("\n");
    expect(lines[0]).toBe(`DELETE FROM providers WHERE name NOT IN (SELECT value FROM json_each('["quote"]'));`);
    expect(lines[1]).toMatch(/^INSERT INTO providers \(name, provider_id, config, updated_at\) VALUES \('quote', lower\(hex\(randomblob\(16\)\)\), '/);
    expect(lines[1]).toContain(`'${JSON.stringify(withParsedConditions(policy.result.providers[0] as ProviderConfig)).replaceAll("'", "''")}', '2026-01-01T00:00:00.000Z') ON CONFLICT (name) DO UPDATE SET provider_id = CASE WHEN`);
    expect(lines[1]).toContain(`"description":"it''s"`);
    // The condition's parsed form is stored beside it, so the token server never parses (issue 12).
    expect(lines[1]).toContain(`"parsed":{"authz":{"v":2,"sourceLength":24,`);
    expect(lines[2]).toBe(`UPDATE policy_version SET version = version + 1, applied_at = '2026-01-01T00:00:00.000Z', source_sha256 = '${policy.sha256}' WHERE id = 1;`);
    // The version is recorded with the file's text (hex UTF-8: it has line breaks) and each provider's JSON.
    const hex = Buffer.from(readFileSync(file)).toString("hex");
    expect(lines[3]).toBe(
      `INSERT INTO policy_history (version, applied_at, source_sha256, source_text, provider_count, rollback_of) SELECT version, '2026-01-01T00:00:00.000Z', '${policy.sha256}', CAST(X'${hex}' AS TEXT), 1, NULL FROM policy_version WHERE id = 1;`,
    );
    expect(lines[4]).toBe(
      `INSERT INTO policy_history_providers (version, name, config) SELECT version, 'quote', '${JSON.stringify(withParsedConditions(policy.result.providers[0] as ProviderConfig)).replaceAll("'", "''")}' FROM policy_version WHERE id = 1;`,
    );
    expect(policy.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(lines).toHaveLength(5);
  });

  it("the rendered script, run by wrangler d1 execute --file against a local D1, applies and records like a local apply", async () => {
    const persistTo = join(dir, "remote-state");
    const text = `providers:\n${provider("alpha")}  - name: obrien\n    issuer: https://o.example\n    description: "O'Brien's ü ✓; --"\n`;
    const file = write("remote-run.yaml", text);
    await applyPolicyFileLocal({ file: write("seed.yaml", `providers:\n${provider("seed")}`), wranglerConfig, persistTo });
    const sqlFile = write("remote-run.sql", remoteApplySql(file).sql);
    execFileSync(process.execPath, [WRANGLER_BIN, "d1", "execute", "POLICY_DB", "--local", "--yes", "--file", sqlFile, "--config", wranglerConfig, "--persist-to", persistTo], {
      cwd: root,
      env: { ...process.env, ...QUIET_ENV },
      encoding: "utf8",
    });
    expect(wranglerQuery(persistTo, "SELECT name FROM providers ORDER BY name; SELECT version, source_text, provider_count FROM policy_history ORDER BY version")).toEqual([
      [{ name: "alpha" }, { name: "obrien" }],
      [expect.objectContaining({ version: 1, provider_count: 1 }), { version: 2, source_text: text, provider_count: 2 }],
    ]);
  });

  it("runs wrangler d1 execute --remote --file against the configured database", () => {
    expect(remoteApplyArgs("/tmp/x.sql", { wranglerConfig: "w.toml" })).toEqual([WRANGLER_BIN, "d1", "execute", "POLICY_DB", "--remote", "--file", "/tmp/x.sql", "--config", "w.toml"]);
  });

  it("refuses an invalid file before running anything", () => {
    const file = write("remote-bad.yaml", "providers:\n  - name: x\n    staticKeys: [{key: nope}]\n");
    expect(() => remoteApplySql(file)).toThrow(InvalidPolicyFileError);
    expect(readFileSync(file, "utf8")).toContain("staticKeys");
  });
});

describe("policy apply asks before it writes (issue 15)", () => {
  const persistTo = join(dir, "confirm-state");
  const local = ["--local", "--config", wranglerConfig, "--persist-to", persistTo];
  const v1 = () => write("confirm-v1.yaml", `providers:\n${provider("alpha")}`);
  const v2 = () => write("confirm-v2.yaml", `providers:\n${provider("alpha")}${provider("beta")}`);
  const state = () => wranglerQuery(persistTo, "SELECT name FROM providers ORDER BY name; SELECT version FROM policy_version");
  /** An Io whose terminal answers `answer`, recording the questions asked. */
  const terminal = (answer: string) => {
    const questions: string[] = [];
    const io = { ...captureIo(), ask: async (q: string) => (questions.push(q), answer) };
    return { io, questions };
  };

  it("--yes applies after printing the changes; with no terminal and no --yes it refuses and D1 is unchanged", async () => {
    const yes = captureIo();
    expect(await policyCommand(["apply", v1(), ...local, "--yes"], yes)).toBe(0);
    expect(yes.stdout).toEqual([`${join(dir, "confirm-v1.yaml")} against the local D1 (policy version 0):`, expect.stringMatching(/^\+ alpha: added/), "1 added, 0 removed, 0 changed", "applied 1 provider(s) to the local D1 (policy version 1): alpha"]);

    const refused = captureIo(); // captureIo has no ask: stdin is not a terminal
    expect(await policyCommand(["apply", v2(), ...local], refused)).toBe(2);
    expect(refused.stdout.at(-2)).toMatch(/^\+ beta: added/);
    expect(refused.stderr).toEqual([`${join(dir, "confirm-v2.yaml")}: not applied: stdin is not a terminal, so there is no one to confirm; pass --yes to apply without asking`]);
    expect(state()).toEqual([[{ name: "alpha" }], [{ version: 1 }]]);
  });

  it("on a terminal, anything but y/yes changes nothing; yes applies", async () => {
    for (const answer of ["n", "", "yess", "no"]) {
      const { io, questions } = terminal(answer);
      expect(await policyCommand(["apply", v2(), ...local], io)).toBe(1);
      expect(questions).toEqual(["Apply? [y/N] "]);
      expect(io.stderr).toEqual([`${join(dir, "confirm-v2.yaml")}: not applied`]);
    }
    expect(state()).toEqual([[{ name: "alpha" }], [{ version: 1 }]]);
    const { io } = terminal(" YES ");
    expect(await policyCommand(["apply", v2(), ...local], io)).toBe(0);
    expect(io.stdout.at(-1)).toBe("applied 2 provider(s) to the local D1 (policy version 2): alpha, beta");
    expect(state()).toEqual([[{ name: "alpha" }, { name: "beta" }], [{ version: 2 }]]);
  });

  it("a file that changes nothing says so, asks nothing and writes nothing", async () => {
    const { io, questions } = terminal("y");
    expect(await policyCommand(["apply", v2(), ...local], io)).toBe(0);
    expect(io.stdout).toEqual([`${join(dir, "confirm-v2.yaml")}: no changes against the local D1 (policy version 2); nothing applied`]);
    expect(questions).toEqual([]);
    expect(state()).toEqual([[{ name: "alpha" }, { name: "beta" }], [{ version: 2 }]]);
  });
});

describe("policy apply shows the claim-schema warnings validate gives", () => {
  it("warns of a misspelt claim at its file line, and still applies", async () => {
    const persistTo = join(dir, "schema-state");
    const file = write("schema-typo.yaml", "providers:\n  - name: gha\n    issuer: https://token.actions.githubusercontent.com\n    audiences: [registry.example.com]\n    authn:\n      condition: 'claims.repository_owner_id == \"1\" && claims.repositry == \"acme/app\"'\n");
    const io = captureIo();
    expect(await policyCommand(["apply", file, "--local", "--config", wranglerConfig, "--persist-to", persistTo, "--yes"], io)).toBe(0);
    expect(io.stderr).toContainEqual(expect.stringMatching(new RegExp(`^${file}:6:\\d+: warning: .*claims\\.repositry is not a claim of GitHub Actions tokens; did you mean claims\\.repository\\?`)));
  });
});

describe("policy apply when only the conditions' lines moved (issue 10)", () => {
  it("still applies, so a refusal names the line the condition is on now", async () => {
    const persistTo = join(dir, "moved-state");
    const local = ["--local", "--config", wranglerConfig, "--persist-to", persistTo, "--yes"];
    expect(await policyCommand(["apply", write("moved-1.yaml", `providers:\n${provider("alpha")}`), ...local], captureIo())).toBe(0);
    const io = captureIo();
    expect(await policyCommand(["apply", write("moved-2.yaml", `# a comment\n\nproviders:\n${provider("alpha")}`), ...local], io)).toBe(0);
    expect(io.stdout.slice(1)).toEqual([
      "no policy changes, but conditions moved to other lines of the file (alpha): applying keeps the lines refusals name right",
      "applied 1 provider(s) to the local D1 (policy version 2): alpha",
    ]);
    const [[row]] = wranglerQuery(persistTo, "SELECT config FROM providers") as [[{ config: string }]];
    expect(JSON.parse(row.config)).toMatchObject({ sourceLines: { authz: 7 } });
  });
});
