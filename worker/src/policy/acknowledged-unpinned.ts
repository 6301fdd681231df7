/**
 * The providers applied with `sharedIssuer: unpinned-acknowledged`: they trust
 * a shared issuer (GitHub Actions, GitLab.com, …) without pinning an owner id
 * in authn, on purpose (core/src/policy/shared-issuer.ts). `/healthz` lists
 * them, so the choice stays visible after the apply's warning has scrolled by.
 *
 * One small D1 read (the stored configs' `sharedIssuer` field), kept per
 * isolate for CACHE_MS: /healthz is polled, and an apply shows within that.
 * A failed read is reported as unknown, never as "none".
 */
import { UNPINNED_ACKNOWLEDGED as ACKNOWLEDGED } from "@jwt-registry-auth/core/policy/shared-issuer";
export const CACHE_MS = 10_000;

let cached: { readonly at: number; readonly names: readonly string[] } | undefined;

/** The names of the acknowledged-unpinned providers, sorted; undefined when D1 can't be read. */
export async function acknowledgedUnpinnedProviders(db: D1Database, now: number = Date.now()): Promise<readonly string[] | undefined> {
  if (cached !== undefined && now - cached.at < CACHE_MS && now >= cached.at) return cached.names;
  try {
    const { results } = await db.prepare("SELECT name FROM providers WHERE json_extract(config, '$.sharedIssuer') = ?1 ORDER BY name").bind(ACKNOWLEDGED).all<{ name: string }>();
    cached = { at: now, names: results.map((row) => row.name) };
    return cached.names;
  } catch {
    return undefined;
  }
}

/** The warning /healthz shows for them. */
export function acknowledgedUnpinnedWarning(names: readonly string[]): string {
  return `provider(s) ${names.join(", ")} trust a shared issuer without an owner pin in authn (sharedIssuer: ${ACKNOWLEDGED}): any customer of that platform who passes the rest of the condition logs in`;
}

/** Tests: forget the cached list. */
export function resetAcknowledgedUnpinnedCache(): void {
  cached = undefined;
}
