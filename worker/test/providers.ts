/**
 * Puts providers straight into the real local D1, in the stored form
 * (worker/src/providers/model.ts), and bumps the policy version the way
 * `cli policy apply` does, so the Worker's cache picks them up.
 */
import { env } from "cloudflare:test";
import type { ProviderConfig } from "../src/providers/model.ts";

export async function putProviders(providers: readonly ProviderConfig[]): Promise<void> {
  const now = new Date().toISOString();
  await env.POLICY_DB.batch([
    env.POLICY_DB.prepare("DELETE FROM providers"),
    ...providers.map((p) => env.POLICY_DB.prepare("INSERT INTO providers (name, config, updated_at) VALUES (?, ?, ?)").bind(p.name, JSON.stringify(p), now)),
    env.POLICY_DB.prepare("UPDATE policy_version SET version = version + 1, applied_at = ?").bind(now),
  ]);
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
