import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { policyApplyStatements, renderSqlScript, sqlLiteral, type SqlStatement } from "@jwt-registry-auth/core/policy/apply-statements";

const db = env.POLICY_DB;
const meta = { appliedAt: "2026-01-01T00:00:00.000Z", sourceSha256: "ab".repeat(32) };

const tricky: ProviderConfig = {
  name: "o-brien",
  description: "O'Brien's \"team\"; DROP TABLE providers; -- ü ✓",
  issuer: "https://issuer.example",
  keys: { source: "discovery", discoveryUrl: "https://issuer.example/.well-known/openid-configuration" },
  audiences: ["registry.example.com"],
  authz: "scope.name.startsWith('team-a/') &&\n  claims.sub != \"it's\"",
  refreshSeconds: 0,
};

async function version(): Promise<number> {
  return (await db.prepare("SELECT version FROM policy_version").first<{ version: number }>())?.version ?? -1;
}

describe("policyApplyStatements", () => {
  it("replaces every provider and bumps the version in one batch", async () => {
    const start = await version();
    const run = (providers: ProviderConfig[]) => db.batch(policyApplyStatements(providers, meta).map((s) => db.prepare(s.sql).bind(...s.params)));
    await run([tricky, { ...tricky, name: "second" }]);
    await run([tricky]);
    const rows = await db.prepare("SELECT name, config FROM providers").all<{ name: string; config: string }>();
    expect(rows.results).toEqual([{ name: "o-brien", config: JSON.stringify(tricky) }]);
    expect(await version()).toBe(start + 2);
    const applied = await db.prepare("SELECT applied_at, source_sha256 FROM policy_version").first();
    expect(applied).toEqual({ applied_at: meta.appliedAt, source_sha256: meta.sourceSha256 });
  });

  it("writes nothing if any statement fails", async () => {
    const run = (providers: ProviderConfig[], extra: SqlStatement[] = []) =>
      db.batch([...policyApplyStatements(providers, meta), ...extra].map((s) => db.prepare(s.sql).bind(...s.params)));
    await run([tricky]);
    const before = await version();
    await expect(run([{ ...tricky, name: "second" }], [{ sql: "INSERT INTO no_such_table VALUES (1)", params: [] }])).rejects.toThrow(/no such table/);
    expect(await version()).toBe(before);
    expect((await db.prepare("SELECT name FROM providers").all()).results).toEqual([{ name: "o-brien" }]);
  });

  it("refuses two providers with one name rather than keep the last", () => {
    expect(() => policyApplyStatements([tricky, tricky], meta)).toThrow("two providers are named o-brien");
  });
});

describe("provider ids across applies", () => {
  const gha: ProviderConfig = { ...tricky, name: "gha", refreshSeconds: 3600 };
  const other: ProviderConfig = { ...gha, name: "other", authz: "true" };

  async function apply(providers: ProviderConfig[], via: "batch" | "script" = "batch"): Promise<Record<string, string>> {
    const statements = policyApplyStatements(providers, meta);
    if (via === "batch") await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    else for (const line of renderSqlScript(statements).trim().split("\n")) await db.prepare(line).run();
    const rows = await db.prepare("SELECT name, provider_id FROM providers").all<{ name: string; provider_id: string }>();
    return Object.fromEntries(rows.results.map((r) => [r.name, r.provider_id]));
  }

  it("mints a 128-bit id per provider and keeps it while name, issuer and refresh stay", async () => {
    const first = await apply([gha, other]);
    expect(first.gha).toMatch(/^[0-9a-f]{32}$/);
    expect(first.gha).not.toBe(first.other);
    const edited = await apply([{ ...gha, authz: "scope.action == 'pull'", refreshSeconds: 600, audiences: ["x"] }, other]);
    expect(edited).toEqual(first);
    // The remote script follows the same rule: it is the same SQL.
    expect(await apply([gha, other], "script")).toEqual(first);
  });

  it("gives a new id when the issuer changes", async () => {
    const before = await apply([gha]);
    const after = await apply([{ ...gha, issuer: "https://elsewhere.example" }]);
    expect(after.gha).not.toBe(before.gha);
  });

  it("gives a new id when refresh is turned off, and keeps that one when it is turned back on", async () => {
    const before = await apply([gha]);
    const off = await apply([{ ...gha, refreshSeconds: 0 }]);
    expect(off.gha).not.toBe(before.gha);
    const on = await apply([gha], "script");
    expect(on.gha).not.toBe(before.gha);
    expect(await apply([gha])).toEqual(on);
  });

  it("gives a provider deleted in one apply and re-created in a later one a new id", async () => {
    const before = await apply([gha, other]);
    await apply([other]);
    const recreated = await apply([{ ...other, name: "gha" }]);
    expect(recreated.gha).not.toBe(before.gha);
    expect(recreated.gha).not.toBe(before.other);
  });

  it("keeps the id when one apply replaces a provider with another of the same name and issuer: that is an edit", async () => {
    // Documented in docs/policy.md: the file alone can't tell "edit gha" from
    // "delete gha, rename other to gha"; a different issuer or two applies can.
    const before = await apply([gha, other]);
    const after = await apply([{ ...other, name: "gha" }]);
    expect(after).toEqual({ gha: before.gha });
  });
});

describe("renderSqlScript", () => {
  it("escapes literals so the script stores exactly the bound values", async () => {
    const script = renderSqlScript(policyApplyStatements([tricky], meta));
    // JSON escapes newlines, so each statement is one line.
    for (const line of script.trim().split("\n")) await db.prepare(line).run();
    const row = await db.prepare("SELECT config FROM providers WHERE name = ?").bind("o-brien").first<{ config: string }>();
    expect(row?.config).toBe(JSON.stringify(tricky));
    expect(await db.prepare("SELECT count(*) AS n FROM providers").first<{ n: number }>()).toEqual({ n: 1 });
  });

  it("quotes strings, refuses NUL and non-finite numbers", () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral(null)).toBe("NULL");
    expect(sqlLiteral(3)).toBe("3");
    expect(() => sqlLiteral("a\u0000b")).toThrow(/NUL/);
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => renderSqlScript([{ sql: "SELECT ?, ?", params: [1] }])).toThrow(/too few/);
  });
});
