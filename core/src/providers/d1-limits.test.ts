import { describe, expect, it } from "vitest";
import { policyApplyStatements, renderSqlScript } from "./apply-statements.ts";
import { withParsedConditions } from "./compile-provider.ts";
import { D1_MAX_STATEMENT_BYTES, MAX_STORED_PROVIDER_BYTES, storedLiteralBytes } from "./d1-limits.ts";
import type { ProviderConfig } from "./model.ts";
import { MAX_AUDIENCES, MAX_FIELD_LENGTH } from "./validate.ts";
import { MAX_CONDITION_LENGTH, MAX_CONDITION_NODES } from "../policy/static-check.ts";

/**
 * The condition whose stored form is largest per character found: a list of
 * 1s, one expression node per two characters, just under MAX_CONDITION_NODES
 * (the node limit, not the length limit, is what binds).
 */
const WORST_CONDITION = "[" + Array(MAX_CONDITION_NODES - 5).fill("1").join(",") + "] == []";

/**
 * Every field the model bounds at its limit, with a discovery key source; the
 * description is all quotes (doubled in a SQL literal). The audiences are URLs:
 * 32 of 1,024 quotes would be 64 KiB alone, which the budget refuses (below).
 */
function largest(overrides: Partial<ProviderConfig>): ProviderConfig {
  const long = (c: string) => c.repeat(MAX_FIELD_LENGTH);
  return {
    name: "p".repeat(63),
    description: long("'"),
    issuer: "https://issuer.example/" + "i".repeat(MAX_FIELD_LENGTH - 23),
    keys: { source: "discovery", discoveryUrl: "https://issuer.example/.well-known/openid-configuration" },
    audiences: Array.from({ length: MAX_AUDIENCES }, (_, i) => `https://${i}.example/`.padEnd(MAX_FIELD_LENGTH, "a")),
    authz: 'scope.action == "pull"',
    refreshSeconds: 3600,
    ...overrides,
  };
}

/** The longest line of the remote script, in UTF-8 bytes: each line is one statement. */
function longestStatementBytes(providers: readonly ProviderConfig[]): number {
  const script = renderSqlScript(policyApplyStatements(providers, { appliedAt: "2026-01-01T00:00:00.000Z", sourceSha256: "0".repeat(64) }));
  return Math.max(...script.split("\n").map((line) => new TextEncoder().encode(line).length));
}

describe("D1 statement limit", () => {
  it("the worst-case condition is within the file's limits and stores in under 50 KB", () => {
    expect(WORST_CONDITION.length).toBeLessThanOrEqual(MAX_CONDITION_LENGTH);
    const stored = withParsedConditions(largest({ authz: WORST_CONDITION }));
    const bytes = new TextEncoder().encode(JSON.stringify(stored.parsed?.authz)).length;
    expect(bytes).toBeGreaterThan(30_000);
    expect(bytes).toBeLessThan(50_000);
  });

  it("a provider at every field limit with a worst-case condition renders statements under D1's limit, with margin", () => {
    const longest = longestStatementBytes([largest({ authn: "claims.sub != ''", authz: WORST_CONDITION })]);
    expect(longest).toBeLessThan(D1_MAX_STATEMENT_BYTES - 10_000);
  });

  it("anything the budget accepts fits: a provider just under it renders under D1's limit", () => {
    // Audiences of quotes (2 KiB each as a literal) are added while the provider stays within the budget.
    const withAudiences = (n: number) => largest({ authn: WORST_CONDITION, audiences: Array.from({ length: n }, (_, i) => `${i}`.padEnd(MAX_FIELD_LENGTH, "'")) });
    let n = 0;
    while (n < MAX_AUDIENCES && withParsedConditionsOrUndefined(withAudiences(n + 1)) !== undefined) n++;
    expect(n).toBeLessThan(MAX_AUDIENCES);
    const provider = withAudiences(n);
    const bytes = storedLiteralBytes(JSON.stringify(withParsedConditions(provider)));
    expect(bytes).toBeGreaterThan(MAX_STORED_PROVIDER_BYTES - 2 * MAX_FIELD_LENGTH - 16);
    expect(longestStatementBytes([provider])).toBeLessThan(D1_MAX_STATEMENT_BYTES);
  });

  it("a provider over the budget is refused before anything is written, naming it and the limit", () => {
    const provider = largest({ authn: WORST_CONDITION, authz: WORST_CONDITION });
    expect(() => policyApplyStatements([provider], { appliedAt: "2026-01-01T00:00:00.000Z", sourceSha256: "0".repeat(64) })).toThrow(
      new RegExp(`provider p{63}: its stored form .* is \\d+ bytes; the limit is ${MAX_STORED_PROVIDER_BYTES} bytes`),
    );
  });

  it("counts a literal's bytes as sqlLiteral writes them: UTF-8, quotes doubled, plus the two around it", () => {
    expect(storedLiteralBytes("")).toBe(2);
    expect(storedLiteralBytes("a'b'")).toBe(8);
    expect(storedLiteralBytes("€")).toBe(5);
  });
});

function withParsedConditionsOrUndefined(config: ProviderConfig): ProviderConfig | undefined {
  try {
    return withParsedConditions(config);
  } catch {
    return undefined;
  }
}
