/**
 * The write side of the policy store (`cli policy apply`): make the providers
 * table hold exactly the file's providers and bump `policy_version`, as one D1
 * batch (a transaction) locally or one SQL file remotely. Readers (store.ts)
 * see the old set or the new one.
 *
 * Rows are upserted rather than replaced so that a provider keeps its
 * `provider_id` across applies. Refresh tokens are bound to that id, and the
 * rule for keeping it is written here, in SQL, so the remote script (which
 * can't read the table first) follows it too: the id survives while the name
 * and issuer are unchanged and refresh stays on. A new issuer, refresh turned
 * off, or a provider deleted in one apply and re-created in a later one gets a
 * new id, and every refresh token of the old one stops working (docs/policy.md,
 * "What revokes a refresh token").
 *
 * The same batch records the version in `policy_history` (migration 0003):
 * the file's hash and text and each provider's stored JSON, under the version
 * number the bump produced, read back in SQL so the remote script needs no
 * round trip either. `policy rollback N` runs these same statements with
 * version N's stored providers and text, so it is all-or-nothing too.
 */
import { withParsedConditions } from "./compile-provider.ts";
import type { ProviderConfig } from "./model.ts";

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
  /** The file's full text, recorded with the version; absent = not recorded (NULL). */
  readonly sourceText?: string;
  /** The version this apply restores (`policy rollback`). */
  readonly rollbackOf?: number;
}

/** 128 random bits as hex, minted by SQLite so the rendered script needs no id from us. */
const NEW_ID = "lower(hex(randomblob(16)))";

/** The stored JSON is the normalized config, so these paths always exist. */
const KEEPS_ID =
  "json_extract(providers.config, '$.issuer') IS json_extract(excluded.config, '$.issuer')" +
  " AND json_extract(providers.config, '$.refreshSeconds') > 0 AND json_extract(excluded.config, '$.refreshSeconds') > 0";

const UPSERT =
  `INSERT INTO providers (name, provider_id, config, updated_at) VALUES (?, ${NEW_ID}, ?, ?)` +
  ` ON CONFLICT (name) DO UPDATE SET provider_id = CASE WHEN ${KEEPS_ID} THEN providers.provider_id ELSE excluded.provider_id END,` +
  " config = excluded.config, updated_at = excluded.updated_at";

/** The version the bump earlier in the same batch produced. */
const APPLIED_VERSION = "(SELECT version FROM policy_version WHERE id = 1)";

/**
 * Code points per statement of the recorded text: at most 32 KiB of UTF-8,
 * 64 KiB as the hex literal renderSqlScript writes, under remote D1's 100 KB
 * statement limit.
 */
export const TEXT_CHUNK_CODE_POINTS = 8192;

/** `text` in pieces of at most `size` code points (never splitting a surrogate pair); "" gives [""]. */
export function textChunks(text: string, size: number = TEXT_CHUNK_CODE_POINTS): string[] {
  const chunks: string[] = [];
  let current = "";
  let count = 0;
  for (const ch of text) {
    current += ch;
    if (++count === size) {
      chunks.push(current);
      current = "";
      count = 0;
    }
  }
  if (current !== "" || chunks.length === 0) chunks.push(current);
  return chunks;
}

function historyStatements(providers: readonly ProviderConfig[], meta: ApplyMetadata): SqlStatement[] {
  const [first = null, ...rest] = meta.sourceText === undefined ? [] : textChunks(meta.sourceText);
  return [
    {
      sql:
        "INSERT INTO policy_history (version, applied_at, source_sha256, source_text, provider_count, rollback_of)" +
        " SELECT version, ?, ?, ?, ?, ? FROM policy_version WHERE id = 1",
      params: [meta.appliedAt, meta.sourceSha256, first, providers.length, meta.rollbackOf ?? null],
    },
    ...rest.map((chunk) => ({ sql: `UPDATE policy_history SET source_text = source_text || ? WHERE version = ${APPLIED_VERSION}`, params: [chunk] })),
    ...providers.map((p) => ({
      sql: "INSERT INTO policy_history_providers (version, name, config) SELECT version, ?, ? FROM policy_version WHERE id = 1",
      params: [p.name, JSON.stringify(p)],
    })),
  ];
}

/**
 * Every stored row (and history row) carries its conditions' parsed form
 * (compile-provider.ts withParsedConditions), so the token server never
 * parses; a rollback to a version stored before the form existed gains it here.
 */
export function policyApplyStatements(files: readonly ProviderConfig[], meta: ApplyMetadata): SqlStatement[] {
  const providers = files.map(withParsedConditions);
  const names = providers.map((p) => p.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  // An upsert would quietly keep the last of two entries; the file is wrong, so nothing is written.
  if (duplicate !== undefined) throw new Error(`two providers are named ${duplicate}`);
  return [
    // One JSON parameter, however many providers: D1 binds at most 100 per statement.
    { sql: "DELETE FROM providers WHERE name NOT IN (SELECT value FROM json_each(?))", params: [JSON.stringify(names)] },
    ...providers.map((p) => ({ sql: UPSERT, params: [p.name, JSON.stringify(p), meta.appliedAt] })),
    {
      sql: "UPDATE policy_version SET version = version + 1, applied_at = ?, source_sha256 = ? WHERE id = 1",
      params: [meta.appliedAt, meta.sourceSha256],
    },
    ...historyStatements(providers, meta),
  ];
}

/**
 * A SQL string literal: single quotes doubled. NUL can't appear in one, so it
 * is refused rather than truncated. A string with a line break (a file's text)
 * is written as its UTF-8 bytes in hex, cast to text, so that every statement
 * of a rendered script stays on one line.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as SQL`);
    return String(value);
  }
  if (value.includes("\u0000")) throw new Error("cannot write a NUL character in a SQL literal");
  if (/[\r\n]/.test(value)) {
    const hex = Array.from(new TextEncoder().encode(value), (b) => b.toString(16).padStart(2, "0")).join("");
    return `CAST(X'${hex}' AS TEXT)`;
  }
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
