import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../testing.ts";
import { remoteApplyArgs } from "./apply.ts";
import { policyCommand } from "./command.ts";
import { queryStore, readHistory, runWranglerQuery, wranglerQueryArgs, type PolicyStore } from "./history.ts";
import { QUIET_ENV, WRANGLER_BIN } from "./local-d1.ts";
import { remoteRollbackSql } from "./rollback.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const wranglerConfig = `${root}wrangler.toml`;
const dir = mkdtempSync(join(tmpdir(), "jra-rollback-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const provider = (name: string, condition = "scope.action == 'pull'") =>
  `  - name: ${name}\n    issuer: https://${name}.example\n    audiences: [registry.example.com]\n    authz: {condition: "${condition}"}\n`;

/** One row list per statement, read through Miniflare as the CLI reads (wrangler's reader is slower; the remote-path test uses it). */
function query(persistTo: string, ...statements: string[]): Promise<unknown[][]> {
  return queryStore({ kind: "local", options: { wranglerConfig, persistTo } }, statements);
}

/** The live state: version, providers (name, id, config), and the history's versions. */
async function state(persistTo: string) {
  const [version, providers = [], history = []] = await query(
    persistTo,
    "SELECT version FROM policy_version",
    "SELECT name, provider_id, config FROM providers ORDER BY name",
    "SELECT version, rollback_of FROM policy_history ORDER BY version",
  );
  return { version: (version as { version: number }[])[0]?.version, providers, history };
}

async function cli(...argv: string[]) {
  const io = captureIo();
  const code = await policyCommand(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe("policy history and rollback on local D1", () => {
  const persistTo = join(dir, "state");
  const local = ["--local", "--config", wranglerConfig, "--persist-to", persistTo];
  const v1 = write("v1.yaml", `# version one\nproviders:\n${provider("alpha")}${provider("beta")}`);
  const v2 = write("v2.yaml", `providers:\n${provider("alpha", "true")}${provider("gamma")}`);

  it("lists each applied version, and rollback restores one all-or-nothing as a new version", async () => {
    expect((await cli("apply", v1, ...local, "--yes")).code).toBe(0);
    const afterV1 = await state(persistTo);
    expect((await cli("apply", v2, ...local, "--yes")).code).toBe(0);

    const history = await cli("history", ...local);
    expect(history.code).toBe(0);
    expect(history.out[0]).toMatch(/^version +applied at +sha256 +providers +note$/);
    expect(history.out.slice(1).map((l) => l.split(/ +/).filter((_, i) => i !== 1))).toEqual([
      ["1", execFileSync("sha256sum", [v1], { encoding: "utf8" }).split(" ")[0], "2"],
      ["2", execFileSync("sha256sum", [v2], { encoding: "utf8" }).split(" ")[0], "2", "current"],
    ]);

    const shown = await cli("history", "--show", "1", ...local);
    expect(shown).toMatchObject({ code: 0, out: [`# version one\nproviders:\n${provider("alpha")}${provider("beta")}`.trimEnd()] });

    const rollback = await cli("rollback", "1", ...local);
    expect(rollback).toMatchObject({ code: 0, err: [] });
    expect(rollback.out).toEqual(["rolled the local D1 back to version 1 (2 provider(s): alpha, beta); it is policy version 3, a rollback of 1"]);
    const afterRollback = await state(persistTo);
    // Exactly version 1's providers; alpha kept its id through both applies (same name and issuer, refresh on), beta is new.
    expect(afterRollback.providers.map((p) => ({ ...(p as object), provider_id: undefined }))).toEqual(afterV1.providers.map((p) => ({ ...(p as object), provider_id: undefined })));
    expect((afterRollback.providers[0] as { provider_id: string }).provider_id).toBe((afterV1.providers[0] as { provider_id: string }).provider_id);
    expect(afterRollback.history).toEqual([
      { version: 1, rollback_of: null },
      { version: 2, rollback_of: null },
      { version: 3, rollback_of: 1 },
    ]);
    const [[row]] = (await query(persistTo, "SELECT source_text, source_sha256 FROM policy_history WHERE version = 3")) as [[{ source_text: string; source_sha256: string }]];
    expect(row.source_text).toContain("# version one");

    expect((await cli("history", ...local)).out.at(-1)).toMatch(/^3 .* 2 +current, rollback of 1$/);
    expect((await cli("diff", v1, ...local)).out).toEqual([`${v1} against the local D1 (policy version 3):`, "no changes"]);
  });

  it("a rollback that fails midway leaves D1 on the old version: nothing of the new one", async () => {
    const before = await state(persistTo);
    // Fail the batch when it records the restored alpha: after the delete, the upserts,
    // the version bump and the history row have run inside it.
    await query(persistTo, "CREATE TRIGGER fail_midway BEFORE INSERT ON policy_history_providers WHEN NEW.name = 'alpha' BEGIN SELECT RAISE(ABORT, 'killed midway'); END");
    try {
      const failed = await cli("rollback", "2", ...local);
      expect(failed.code).toBe(1);
      expect(failed.err.join("\n")).toMatch(/killed midway/);
      expect((await state(persistTo))).toEqual(before);
    } finally {
      await query(persistTo, "DROP TRIGGER fail_midway");
    }
    expect((await cli("rollback", "2", ...local)).code).toBe(0);
    expect((await state(persistTo)).providers.map((p) => (p as { name: string }).name)).toEqual(["alpha", "gamma"]);
  });

  it("refuses an unknown version and an invalid file without changing anything", async () => {
    const before = await state(persistTo);
    const missing = await cli("rollback", "99", ...local);
    expect(missing).toMatchObject({ code: 1, out: [] });
    expect(missing.err).toEqual(["error: no policy version 99 is recorded ('policy history' lists them); nothing was changed"]);
    expect((await cli("rollback", "0", ...local)).code).toBe(2);
    expect((await cli("rollback", "two", ...local)).code).toBe(2);
    expect((await cli("history", "--show", "99", ...local)).code).toBe(1);

    const invalid = write("invalid.yaml", `providers:\n${provider("alpha")}  - name: delta\n    issuer: https://d.example\n    authz: {condition: "claims.sub"}\n`);
    const applied = await cli("apply", invalid, ...local, "--yes");
    expect(applied.code).toBe(1);
    const diff = await cli("diff", invalid, ...local);
    expect(diff.code).toBe(1);
    // The same diagnostics, file:line:column, as validate prints.
    expect(diff.err.slice(0, -1)).toEqual((await cli("validate", invalid)).err);
    expect(diff.err.at(-1)).toBe(`${invalid}: not compared: the file has errors`);
    expect((await state(persistTo))).toEqual(before);
  });

  it("the remote rollback script, run by wrangler d1 execute --file on a local D1, restores the version like a local rollback", async () => {
    // The script is rendered from the history as read by the same wrangler query a remote rollback runs (here --local).
    const store: PolicyStore = { kind: "local", options: { wranglerConfig, persistTo } };
    const { restored, sql } = await remoteRollbackSql(store, 1, new Date("2026-03-04T05:06:07Z"));
    expect(restored.providers.map((p) => p.name)).toEqual(["alpha", "beta"]);
    const sqlFile = write("rollback.sql", sql);
    const args = remoteApplyArgs(sqlFile, { wranglerConfig });
    expect(args).toContain("--remote");
    const localArgs = [...args.filter((a) => a !== "--remote"), "--local", "--yes", "--persist-to", persistTo];
    execFileSync(process.execPath, localArgs, { cwd: root, env: { ...process.env, ...QUIET_ENV }, encoding: "utf8" });
    const after = await readHistory(store);
    // What wrangler's own reader (the one `wrangler dev` and a remote history use) sees.
    expect(runWranglerQuery(wranglerQueryArgs("SELECT version, rollback_of FROM policy_history ORDER BY version DESC LIMIT 1", { wranglerConfig, local: { persistTo } }))).toEqual([
      [{ version: after.current, rollback_of: 1 }],
    ]);
    expect(after.entries.at(-1)).toEqual({ version: after.current, appliedAt: "2026-03-04T05:06:07.000Z", sourceSha256: restored.entry.sourceSha256, providerCount: 2, rollbackOf: 1, hasText: true });
    expect((await state(persistTo)).providers.map((p) => (p as { name: string }).name)).toEqual(["alpha", "beta"]);
  });

  it("reads the remote store with wrangler d1 execute --remote --json --command", () => {
    expect(wranglerQueryArgs("SELECT 1", { database: "DB", wranglerConfig: "w.toml" })).toEqual([WRANGLER_BIN, "d1", "execute", "DB", "--remote", "--json", "--command", "SELECT 1", "--config", "w.toml"]);
  });
});

describe("a rollback process killed midway", () => {
  it("leaves D1 on the old version or the new one, never a mix", { timeout: 180_000 }, async () => {
    const persistTo = join(dir, "kill-state");
    const local = ["--local", "--config", wranglerConfig, "--persist-to", persistTo];
    // Versions that differ in every provider, so a mix would show.
    const files = [write("kill-1.yaml", `providers:\n${provider("a1")}${provider("a2")}${provider("a3")}`), write("kill-2.yaml", `providers:\n${provider("b1")}${provider("b2")}`)];
    for (const file of files) expect((await cli("apply", file, ...local, "--yes")).code).toBe(0);
    const sets: Record<string, string[]> = { 1: ["a1", "a2", "a3"], 2: ["b1", "b2"] };
    const bin = fileURLToPath(new URL("../../bin/jwt-registry-auth.js", import.meta.url));

    /** Runs `policy rollback VERSION` as its own process group; kills the group (node and workerd) after `killAfter` ms. */
    function rollbackProcess(version: number, killAfter?: number): Promise<{ ms: number; killed: boolean }> {
      const started = Date.now();
      const child = spawn(process.execPath, [bin, "policy", "rollback", String(version), ...local], { cwd: root, detached: true, stdio: "ignore", env: { ...process.env, ...QUIET_ENV } });
      const timer = killAfter === undefined ? undefined : setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), killAfter);
      return new Promise((done) =>
        child.on("exit", (_code, signal) => {
          clearTimeout(timer);
          // Whatever survived the parent (workerd) goes too.
          try {
            process.kill(-(child.pid as number), "SIGKILL");
          } catch {
            // The group is gone.
          }
          done({ ms: Date.now() - started, killed: signal === "SIGKILL" });
        }),
      );
    }

    /** The live version's providers are exactly those of the version it records as restored (or applied). */
    async function consistent(): Promise<{ version: number; restored: number }> {
      const s = await state(persistTo);
      const last = s.history.at(-1) as { version: number; rollback_of: number | null };
      expect(last.version).toBe(s.version);
      const restored = last.rollback_of ?? last.version;
      expect(s.providers.map((p) => (p as { name: string }).name)).toEqual(sets[restored]);
      return { version: s.version as number, restored };
    }

    const { ms } = await rollbackProcess(1);
    let before = await consistent();
    expect(before.restored).toBe(1);
    const outcomes: string[] = [];
    for (const fraction of [0.5, 0.85, 0.92, 0.96, 0.99, 1.02]) {
      const target = before.restored === 1 ? 2 : 1;
      const { killed } = await rollbackProcess(target, Math.round(ms * fraction));
      const after = await consistent();
      // Killed before its commit: the old version, unchanged. After it: the new one, recorded once.
      if (after.version === before.version) expect(after.restored).toBe(before.restored);
      else expect(after).toEqual({ version: before.version + 1, restored: target });
      outcomes.push(`${fraction}: ${killed ? "killed" : "finished"}, ${after.version === before.version ? "old" : "new"}`);
      before = after;
    }
    console.log(`rollback took ${ms} ms unkilled; ${outcomes.join("; ")}`);
  });
});
