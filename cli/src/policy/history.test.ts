import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";
import { formatHistory, queryStore, type PolicyStore } from "./history.ts";
import { QUIET_ENV, WRANGLER_BIN } from "./local-d1.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "jra-history-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("formatHistory", () => {
  it("lists versions oldest first, marking the live one, rollbacks and a version without text", () => {
    const sha = "a".repeat(64);
    expect(
      formatHistory({
        current: 3,
        entries: [
          { version: 1, appliedAt: "2026-01-01 00:00:00", sourceSha256: "", providerCount: 1, rollbackOf: null, hasText: false },
          { version: 2, appliedAt: "2026-01-02T00:00:00.000Z", sourceSha256: sha, providerCount: 2, rollbackOf: null, hasText: true },
          { version: 3, appliedAt: "2026-01-03T00:00:00.000Z", sourceSha256: sha, providerCount: 1, rollbackOf: 1, hasText: false },
        ],
      }),
    ).toEqual([
      "version  applied at                sha256                                                            providers  note",
      `1        2026-01-01 00:00:00       -                                                                 1          live when history began; text not recorded`,
      `2        2026-01-02T00:00:00.000Z  ${sha}  2`,
      `3        2026-01-03T00:00:00.000Z  ${sha}  1          current, rollback of 1, live when history began; text not recorded`,
    ]);
    expect(formatHistory({ current: 0, entries: [] })).toEqual(["no versions recorded (policy version 0)"]);
    expect(formatHistory({ current: 5, entries: [{ version: 4, appliedAt: "t", sourceSha256: sha, providerCount: 0, rollbackOf: null, hasText: true }] }).at(-1)).toBe(
      "the live policy version 5 is not in the history (applied by a CLI that did not record it)",
    );
  });
});

describe("migration 0003 on a database applied before it", () => {
  it("records the live version (without its text) so it can be rolled back to", async () => {
    // A wrangler config like the repo's whose migrations stop at 0002, as a deployed database would.
    const migrations = join(dir, "migrations");
    mkdirSync(migrations);
    for (const name of ["0001_providers.sql", "0002_provider_id.sql"]) copyFileSync(join(root, "worker/migrations", name), join(migrations, name));
    const config = join(dir, "wrangler.toml");
    const repoConfig = readFileSync(join(root, "wrangler.toml"), "utf8");
    writeFileSync(config, repoConfig.replace('migrations_dir = "worker/migrations"', 'migrations_dir = "migrations"').replace(/^main = .*$/m, ""));
    const persistTo = join(dir, "state");
    const wrangler = (...args: string[]) =>
      execFileSync(process.execPath, [WRANGLER_BIN, "d1", ...args, "--local", "--config", config, "--persist-to", persistTo], { cwd: dir, env: { ...process.env, ...QUIET_ENV, CI: "true" }, encoding: "utf8" });
    wrangler("migrations", "apply", "POLICY_DB");
    // What an apply before 0003 wrote.
    const config1 = JSON.stringify({ name: "legacy", issuer: "https://legacy.example", keys: { source: "discovery", discoveryUrl: "https://legacy.example/.well-known/openid-configuration" }, audiences: [], refreshSeconds: 3600 });
    wrangler(
      "execute",
      "POLICY_DB",
      "--command",
      `INSERT INTO providers (name, provider_id, config, updated_at) VALUES ('legacy', 'id1', '${config1}', 'then'); UPDATE policy_version SET version = 7, applied_at = 'then', source_sha256 = '${"c".repeat(64)}'`,
    );

    // Now 0003 exists: any command migrates the local database first.
    copyFileSync(join(root, "worker/migrations/0003_policy_history.sql"), join(migrations, "0003_policy_history.sql"));
    const local = ["--local", "--config", config, "--persist-to", persistTo];
    const run = async (...argv: string[]) => {
      const io = captureIo();
      return { code: await policyCommand(argv, io), out: io.stdout, err: io.stderr };
    };
    const history = await run("history", ...local);
    expect(history.out.slice(1)).toEqual([`7        then                      ${"c".repeat(64)}  1          current, live when history began; text not recorded`]);

    const file = join(dir, "next.yaml");
    writeFileSync(file, "providers:\n  - name: next\n    issuer: https://next.example\n    audiences: [r]\n");
    expect((await run("apply", file, ...local, "--yes")).code).toBe(0);
    expect(await run("rollback", "7", ...local)).toMatchObject({ code: 0, out: ["rolled the local D1 back to version 7 (1 provider(s): legacy); it is policy version 9, a rollback of 7"] });
    const store: PolicyStore = { kind: "local", options: { wranglerConfig: config, persistTo } };
    expect(await queryStore(store, ["SELECT name, provider_id, config FROM providers", "SELECT version, source_text, rollback_of FROM policy_history ORDER BY version"])).toEqual([
      // A new id, not 'id1': version 8 deleted legacy and the rollback re-creates it, the apply's rule.
      [{ name: "legacy", provider_id: expect.stringMatching(/^[0-9a-f]{32}$/), config: config1 }],
      [
        { version: 7, source_text: null, rollback_of: null },
        { version: 8, source_text: readFileSync(file, "utf8"), rollback_of: null },
        { version: 9, source_text: null, rollback_of: 7 },
      ],
    ]);
    expect((await run("history", "--show", "7", ...local)).err).toEqual(["error: version 7 was live when the history began; its text was not recorded"]);
  });
});
