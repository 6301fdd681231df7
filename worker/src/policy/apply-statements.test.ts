import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../providers/model.ts";
import { policyApplyStatements, renderSqlScript, sqlLiteral } from "./apply-statements.ts";

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
    const before = await version();
    const statements = policyApplyStatements([tricky, tricky], meta); // duplicate primary key
    await expect(db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))).rejects.toThrow(/UNIQUE/);
    expect(await version()).toBe(before);
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
