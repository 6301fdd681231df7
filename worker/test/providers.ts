/**
 * Puts providers into the real local D1 with the statements `cli policy apply`
 * runs (stored form: core/src/providers/model.ts), so the Worker's cache
 * picks them up and provider ids follow the apply's rules.
 */
import { env } from "cloudflare:test";
import { policyApplyStatements } from "@jwt-registry-auth/core/providers/apply-statements";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";

export async function putProviders(providers: readonly ProviderConfig[]): Promise<void> {
  const statements = policyApplyStatements(providers, { appliedAt: new Date().toISOString(), sourceSha256: "0".repeat(64) });
  await env.POLICY_DB.batch(statements.map((s) => env.POLICY_DB.prepare(s.sql).bind(...s.params)));
}

/** A discovery provider for a fresh issuer on the shared loopback issuer server. */
export function discoveryProvider(name: string, issuer: string, extra: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name,
    issuer,
    keys: { source: "discovery", discoveryUrl: `${issuer}/.well-known/openid-configuration` },
    audiences: [],
    refreshSeconds: 3600,
    ...extra,
  };
}

export async function mint(issuer: string, claims: Record<string, unknown>, options: { expiresIn?: number; header?: Record<string, unknown> } = {}): Promise<string> {
  const res = await fetch(`${issuer}/_test/mint`, { method: "POST", body: JSON.stringify({ claims, ...options }) });
  if (!res.ok) throw new Error(`mint failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export function freshIssuer(base: string): string {
  return `${new URL(base).origin}/t-${crypto.randomUUID()}`;
}
