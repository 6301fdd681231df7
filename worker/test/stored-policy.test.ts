/**
 * Issue 12: the token server plans the parsed conditions `policy apply`
 * stored and never parses CEL. These run in workerd against the real local
 * D1: the cold path compiles only the requested provider, the others on
 * their first lookup; applied policies decide exactly as the source does;
 * a row without (or with a stale) parsed form is refused with "re-apply"
 * while the others keep working.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { compileProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { lookupProvider, policyCacheStats, resetPolicyCache, type LoadedProvider } from "../src/policy/store.ts";
import { putProviders } from "./providers.ts";

const db = env.POLICY_DB;

function provider(name: string, conditions: Pick<ProviderConfig, "authn" | "authz">): ProviderConfig {
  const issuer = `https://${name}.issuer.example`;
  return { name, issuer, keys: { source: "discovery", discoveryUrl: `${issuer}/.well-known/openid-configuration` }, audiences: [], refreshSeconds: 3600, ...conditions };
}

const gha = provider("gha", {
  authn: 'claims.repository_owner_id == "42" && claims.ref.startsWith("refs/heads/")',
  authz: 'scope.type == "repository" && scope.name.startsWith(claims.repository_owner + "/") &&\n  (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))',
});
const k8s = provider("k8s", { authz: 'claims["kubernetes.io"].namespace == "ci" && scope.action in ["pull", "*"]' });
const open = provider("open", {});

async function loaded(name: string, now: number): Promise<LoadedProvider> {
  const found = await lookupProvider(db, name, now);
  if (!found.found || !found.ok) throw new Error(`provider ${name} did not load: ${JSON.stringify(found)}`);
  return found.value.provider;
}

async function putRaw(name: string, config: string): Promise<void> {
  await db.batch([
    db.prepare("INSERT OR REPLACE INTO providers (name, provider_id, config, updated_at) VALUES (?, lower(hex(randomblob(16))), ?, 'now')").bind(name, config),
    db.prepare("UPDATE policy_version SET version = version + 1 WHERE id = 1"),
  ]);
}

beforeEach(() => resetPolicyCache());

describe("stored parsed conditions in the token server", () => {
  it("the cold path compiles only the requested provider; the others on their own first lookup", async () => {
    await putProviders([gha, k8s, open]);
    await loaded("gha", 1_000);
    expect(policyCacheStats()).toMatchObject({ compiles: 1, reloads: 1 });
    await loaded("gha", 1_001);
    expect(policyCacheStats().compiles).toBe(1);
    await loaded("k8s", 1_002);
    expect(policyCacheStats().compiles).toBe(2);
    await loaded("open", 1_003);
    await loaded("k8s", 1_004);
    expect(policyCacheStats()).toMatchObject({ compiles: 3, reloads: 1 });
  });

  it("applied policies decide exactly as their source compiles", async () => {
    await putProviders([gha, k8s]);
    const claimsCases: Record<string, unknown>[] = [
      { repository_owner_id: "42", repository_owner: "acme", ref: "refs/heads/main", "kubernetes.io": { namespace: "ci" } },
      { repository_owner_id: "42", repository_owner: "acme", ref: "refs/heads/dev" },
      { repository_owner_id: "43", repository_owner: "acme", ref: "refs/heads/main" },
      { repository_owner_id: 42, repository_owner: "acme", ref: "refs/tags/v1", "kubernetes.io": { namespace: "prod" } },
      {},
    ];
    const scopes = ["pull", "push", "*", "delete"].flatMap((action) => [
      { type: "repository", name: "acme/app", action },
      { type: "repository", name: "other/app", action },
    ]);
    for (const [i, config] of [gha, k8s].entries()) {
      const fromSource = compileProvider(config);
      if (!fromSource.ok) throw new Error("source compiles");
      const stored = await loaded(config.name, 2_000 + i);
      for (const claims of claimsCases) {
        expect(evaluateAuthn(stored, { service: "r.example", claims })).toEqual(evaluateAuthn(fromSource.value.provider, { service: "r.example", claims }));
        for (const scope of scopes) {
          expect(evaluateAuthz(stored, { service: "r.example", claims, scope })).toEqual(evaluateAuthz(fromSource.value.provider, { service: "r.example", claims, scope }));
        }
      }
    }
  });

  it("refuses a row stored without its parsed form, or with one that no longer matches its source, and serves the rest", async () => {
    await putProviders([gha, open]);
    const row = await db.prepare("SELECT config FROM providers WHERE name = 'gha'").first<{ config: string }>();
    const applied = JSON.parse(row?.config ?? "") as ProviderConfig;
    expect(applied.parsed?.authn?.v).toBe(2);
    await putRaw("old", JSON.stringify(provider("old", { authz: "true" })));
    await putRaw("edited", JSON.stringify({ ...applied, name: "edited", authz: 'scope.action == "push"' }));
    await putRaw("mangled", JSON.stringify({ ...applied, name: "mangled", parsed: { ...applied.parsed, authn: { ...applied.parsed?.authn, ast: "AAAA" } } }));
    // Version 1 stored protobuf JSON; no release wrote it, so it is refused like any other version.
    await putRaw("json-era", JSON.stringify({ ...applied, name: "json-era", parsed: { ...applied.parsed, authn: { ...applied.parsed?.authn, v: 1, ast: { expr: { id: "1", identExpr: { name: "claims" } } } } } }));

    expect(await lookupProvider(db, "old", 3_000)).toMatchObject({
      found: true,
      ok: false,
      error: "provider old: authz.condition: stored without its parsed form (applied by an older version); run `policy apply` with the providers file again",
    });
    expect(await lookupProvider(db, "edited", 3_001)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/^provider edited: authz\.condition: the stored parsed form does not match/) });
    expect(await lookupProvider(db, "mangled", 3_002)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/^provider mangled: authn\.condition: the stored parsed form is malformed/) });
    expect(await lookupProvider(db, "json-era", 3_005)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/^provider json-era: authn\.condition: the stored parsed form has version 1, not 2; run `policy apply`/) });
    await expect(loaded("gha", 3_003)).resolves.toBeDefined();
    await expect(loaded("open", 3_004)).resolves.toBeDefined();
  });
});
