/**
 * The write side of the policy store (`cli policy apply`): replace every
 * provider and bump `policy_version`, as one D1 batch (a transaction) locally
 * or one SQL file remotely. Readers (store.ts) see the old set or the new one.
 */
import type { ProviderConfig } from "../providers/model.ts";

export type SqlValue = string | number | null;

export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

export interface ApplyMetadata {
  /** ISO 8601 time of the apply. */
  readonly appliedAt: string;
  /** SHA-256 (hex) of the config file the providers came from. */
  readonly sourceSha256: string;
}

export function policyApplyStatements(providers: readonly ProviderConfig[], meta: ApplyMetadata): SqlStatement[] {
  return [
    { sql: "DELETE FROM providers", params: [] },
    ...providers.map((p) => ({
      sql: "INSERT INTO providers (name, config, updated_at) VALUES (?, ?, ?)",
      params: [p.name, JSON.stringify(p), meta.appliedAt],
    })),
    {
      sql: "UPDATE policy_version SET version = version + 1, applied_at = ?, source_sha256 = ? WHERE id = 1",
      params: [meta.appliedAt, meta.sourceSha256],
    },
  ];
}

/** A SQL string literal: single quotes doubled. NUL can't appear in one, so it is refused rather than truncated. */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as SQL`);
    return String(value);
  }
  if (value.includes("\u0000")) throw new Error("cannot write a NUL character in a SQL literal");
  return `'${value.replaceAll("'", "''")}'`;
}

/** The statements as a script with literals in place of `?`, for `wrangler d1 execute --file`. */
export function renderSqlScript(statements: readonly SqlStatement[]): string {
  return statements
    .map(({ sql, params }) => {
      let i = 0;
      const text = sql.replace(/\?/g, () => {
        if (i >= params.length) throw new Error(`too few parameters for: ${sql}`);
        return sqlLiteral(params[i++] as SqlValue);
      });
      if (i !== params.length) throw new Error(`too many parameters for: ${sql}`);
      return `${text};`;
    })
    .join("\n")
    .concat("\n");
}
