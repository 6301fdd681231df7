import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { withParsedConditions } from "@jwt-registry-auth/core/providers/compile-provider";
import { policyApplyStatements, renderSqlScript, sqlLiteral, TEXT_CHUNK_CODE_POINTS, textChunks, type SqlStatement } from "@jwt-registry-auth/core/providers/apply-statements";

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
    expect(rows.results).toEqual([{ name: "o-brien", config: JSON.stringify(withParsedConditions(tricky)) }]);
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
    expect(row?.config).toBe(JSON.stringify(withParsedConditions(tricky)));
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

describe("policy history", () => {
  const alpha: ProviderConfig = { ...tricky, name: "alpha", refreshSeconds: 3600 };
  const beta: ProviderConfig = { ...alpha, name: "beta", authz: "true" };
  // Line breaks (CRLF too), quotes, a NUL-free control character, an astral code point
  // that a chunk boundary must not split, and more than one chunk of text.
  const text = `# it's "quoted"\r\nproviders:\n  - name: alpha\t# ✓ 𝄞\n${"#".repeat(TEXT_CHUNK_CODE_POINTS - 3)}𝄞𝄞\n${"x".repeat(2 * TEXT_CHUNK_CODE_POINTS)}\n`;

  async function run(providers: ProviderConfig[], extra: Partial<typeof meta> & { sourceText?: string; rollbackOf?: number }, via: "batch" | "script"): Promise<number> {
    const statements = policyApplyStatements(providers, { ...meta, ...extra });
    if (via === "batch") await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    else for (const line of renderSqlScript(statements).trim().split("\n")) await db.prepare(line).run();
    return version();
  }

  async function recorded(v: number) {
    const row = await db.prepare("SELECT * FROM policy_history WHERE version = ?").bind(v).first();
    const providers = await db.prepare("SELECT name, config FROM policy_history_providers WHERE version = ? ORDER BY name").bind(v).all();
    return { row, providers: providers.results };
  }

  for (const via of ["batch", "script"] as const) {
    it(`records the applied version with its hash, full text and providers (${via})`, async () => {
      expect(textChunks(text).length).toBeGreaterThan(2);
      const v = await run([alpha, beta], { sourceText: text }, via);
      expect(await recorded(v)).toEqual({
        row: { version: v, applied_at: meta.appliedAt, source_sha256: meta.sourceSha256, source_text: text, provider_count: 2, rollback_of: null },
        providers: [
          { name: "alpha", config: JSON.stringify(withParsedConditions(alpha)) },
          { name: "beta", config: JSON.stringify(withParsedConditions(beta)) },
        ],
      });
      const rollback = await run([beta], { sourceText: "providers: []\n", rollbackOf: v }, via);
      expect(rollback).toBe(v + 1);
      expect((await recorded(rollback)).row).toMatchObject({ rollback_of: v, provider_count: 1, source_text: "providers: []\n" });
    });
  }

  it("records an empty text as '' and no text as NULL", async () => {
    expect((await recorded(await run([], { sourceText: "" }, "script"))).row).toMatchObject({ source_text: "", provider_count: 0 });
    expect((await recorded(await run([alpha], {}, "batch"))).row).toMatchObject({ source_text: null, provider_count: 1 });
  });

  it("records nothing when the apply fails midway, and the providers stay as they were", async () => {
    const before = await run([alpha], { sourceText: text }, "batch");
    const historyRows = async () => (await db.prepare("SELECT count(*) AS n FROM policy_history").first<{ n: number }>())?.n;
    const count = await historyRows();
    const statements = policyApplyStatements([alpha, beta], { ...meta, sourceText: "changed" });
    // A statement failing after the delete, the upserts, the bump and the history row.
    statements.splice(statements.length - 1, 0, { sql: "INSERT INTO policy_history (version) VALUES (NULL)", params: [] });
    await expect(db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))).rejects.toThrow(/NOT NULL/);
    expect(await version()).toBe(before);
    expect(await historyRows()).toBe(count);
    expect((await db.prepare("SELECT name FROM providers").all()).results).toEqual([{ name: "alpha" }]);
  });

  it("splits text into chunks of code points without splitting a surrogate pair", () => {
    expect(textChunks("")).toEqual([""]);
    expect(textChunks("ab𝄞c", 2)).toEqual(["ab", "𝄞c"]);
    expect(textChunks("a𝄞", 1)).toEqual(["a", "𝄞"]);
  });

  it("writes text with line breaks as hex UTF-8 so each statement is one line", () => {
    expect(sqlLiteral("a\nü'")).toBe("CAST(X'610ac3bc27' AS TEXT)");
    expect(renderSqlScript(policyApplyStatements([alpha], { ...meta, sourceText: text })).trimEnd().split("\n")).toHaveLength(5 + textChunks(text).length - 1);
  });
});
