/**
 * Remote D1's limits that a stored provider must fit (Cloudflare's D1 limits
 * page: "Maximum SQL statement length: 100,000 bytes"). Kept apart from
 * size-limits.ts, which reads YAML nodes, so the token server's bundle, which
 * imports compile-provider.ts, doesn't pull in the YAML library.
 */

/** Remote D1 refuses a statement longer than this, in bytes (`wrangler d1 execute --remote --file`). */
export const D1_MAX_STATEMENT_BYTES = 100_000;

/**
 * A provider's stored JSON as a SQL literal (quotes doubled), in UTF-8 bytes.
 * The upsert and the history insert each hold one such literal beside at most
 * ~3.5 KB of SQL, name and time, so this leaves a margin of over 5 KB.
 */
export const MAX_STORED_PROVIDER_BYTES = 90_000;

/** The bytes a stored provider's JSON takes as a single-quoted SQL literal (apply-statements.ts sqlLiteral). */
export function storedLiteralBytes(json: string): number {
  let quotes = 0;
  for (let i = json.indexOf("'"); i !== -1; i = json.indexOf("'", i + 1)) quotes++;
  return new TextEncoder().encode(json).length + quotes + 2;
}
