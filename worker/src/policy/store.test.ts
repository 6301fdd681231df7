import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { policyApplyStatements } from "@jwt-registry-auth/core/providers/apply-statements";
import { evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { lookupProvider, MAX_POLICY_AGE_MS, policyCacheStats, PolicyStoreUnavailableError, resetPolicyCache, REVALIDATE_MS } from "./store.ts";

const db = env.POLICY_DB;

function provider(name: string, authz: string): ProviderConfig {
  const issuer = `https://${name}.issuer.example`;
  return { name, issuer, keys: { source: "discovery", discoveryUrl: `${issuer}/.well-known/openid-configuration` }, audiences: [], authz, refreshSeconds: 3600 };
}

/** Writes providers the way `cli policy apply` does: one batch, version bumped. */
async function apply(providers: readonly ProviderConfig[]): Promise<void> {
  const statements = policyApplyStatements(providers, { appliedAt: new Date().toISOString(), sourceSha256: "0".repeat(64) });
  await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
}

async function putRaw(name: string, config: string): Promise<void> {
  await db.batch([
    db.prepare("INSERT OR REPLACE INTO providers (name, provider_id, config, updated_at) VALUES (?, lower(hex(randomblob(16))), ?, 'now')").bind(name, config),
    db.prepare("UPDATE policy_version SET version = version + 1 WHERE id = 1"),
  ]);
}

const pull = { service: "r.example", claims: {}, scope: { type: "repository", name: "a/b", action: "pull" } };

beforeEach(() => resetPolicyCache());
afterEach(() => vi.restoreAllMocks());

describe("lookupProvider", () => {
  it("finds applied providers and reports unknown names as not found", async () => {
    await apply([provider("gha", "scope.action == 'pull'")]);
    const found = await lookupProvider(db, "gha", 1_000);
    expect(found.found && found.ok && found.value.provider.config.name).toBe("gha");
    expect(await lookupProvider(db, "nobody", 1_000)).toMatchObject({ found: false });
  });

  it("picks up a change in D1 only after the revalidation interval, with one cheap read per interval", async () => {
    await apply([provider("gha", "scope.action == 'pull'")]);
    const t0 = 10_000;
    const before = await lookupProvider(db, "gha", t0);
    expect(before.found && before.ok && evaluateAuthz(before.value.provider, pull).allowed).toBe(true);

    await apply([provider("gha", "scope.action == 'push'")]);
    const cached = await lookupProvider(db, "gha", t0 + REVALIDATE_MS - 1);
    expect(cached.found && cached.ok && evaluateAuthz(cached.value.provider, pull).allowed).toBe(true);
    expect(policyCacheStats().versionReads).toBe(1);

    const fresh = await lookupProvider(db, "gha", t0 + REVALIDATE_MS);
    expect(fresh.found && fresh.ok && evaluateAuthz(fresh.value.provider, pull)).toMatchObject({ allowed: false, reason: "authz: false at 1:1: scope.action == 'push'" });
    expect(policyCacheStats()).toMatchObject({ versionReads: 2, reloads: 2 });
  });

  it("compiles a provider once per version, and not again when a new version leaves it unchanged", async () => {
    await apply([provider("a", "true"), provider("b", "false")]);
    for (let i = 0; i < 5; i++) await lookupProvider(db, "a", 20_000 + i * REVALIDATE_MS);
    expect(policyCacheStats()).toMatchObject({ compiles: 1, reloads: 1, versionReads: 5 });

    await apply([provider("a", "true"), provider("b", "scope.action == 'pull'")]);
    await lookupProvider(db, "a", 40_000);
    await lookupProvider(db, "b", 40_001);
    await lookupProvider(db, "b", 40_002);
    // a was reused from the previous version; b compiled once in the new one.
    expect(policyCacheStats()).toMatchObject({ compiles: 2, reloads: 2 });

    await apply([provider("a", "scope.action == 'push'"), provider("b", "scope.action == 'pull'")]);
    await lookupProvider(db, "a", 60_000);
    expect(policyCacheStats().compiles).toBe(3);
  });

  it("isolates a broken provider: bad JSON, invalid config, or a condition that no longer compiles", async () => {
    await apply([provider("good", "true")]);
    await putRaw("not-json", "{");
    await putRaw("invalid", JSON.stringify({ ...provider("invalid", "true"), issuer: "ftp://x" }));
    await putRaw("bad-cel", JSON.stringify(provider("bad-cel", "claims.sub")));
    await putRaw("renamed", JSON.stringify(provider("other", "true")));

    expect(await lookupProvider(db, "not-json", 1)).toMatchObject({ found: true, ok: false, error: "provider not-json: stored config is not valid JSON" });
    expect(await lookupProvider(db, "invalid", 1)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/stored config is invalid: issuer/) });
    expect(await lookupProvider(db, "bad-cel", 1)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/authz\.condition: stored without its parsed form.*policy apply/) });
    expect(await lookupProvider(db, "renamed", 1)).toMatchObject({ found: true, ok: false, error: expect.stringMatching(/is named other/) });
    expect(await lookupProvider(db, "good", 1)).toMatchObject({ found: true, ok: true });
  });

  it("revalidates once per interval while concurrent requests keep using the cache", async () => {
    await apply([provider("gha", "true")]);
    expect(await lookupProvider(db, "gha", 0)).toMatchObject({ found: true, ok: true });
    const results = await Promise.all(Array.from({ length: 20 }, () => lookupProvider(db, "gha", 3_000)));
    expect(results.every((r) => r.found && r.ok)).toBe(true);
    expect(policyCacheStats()).toMatchObject({ versionReads: 2, reloads: 1, compiles: 1 });
  });

  it("never makes a request wait on another request's D1 read (workerd cancels such a request as hung)", async () => {
    await apply([provider("gha", "true")]);
    expect(await lookupProvider(db, "gha", 0)).toMatchObject({ found: true, ok: true });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const withSession = db.withSession.bind(db);
    vi.spyOn(db, "withSession").mockImplementationOnce((constraint) => {
      const session = withSession(constraint);
      const gated = (query: string) => {
        const statement = session.prepare(query);
        return { all: async () => (await gate, statement.all()) } as unknown as D1PreparedStatement;
      };
      return { prepare: gated, batch: session.batch.bind(session), getBookmark: () => session.getBookmark() } as unknown as D1DatabaseSession;
    });
    const revalidating = lookupProvider(db, "gha", 3_000);
    const others = await Promise.all(Array.from({ length: 19 }, () => lookupProvider(db, "gha", 3_001)));
    expect(others.every((r) => r.found && r.ok)).toBe(true);
    release();
    expect(await revalidating).toMatchObject({ found: true, ok: true });
  });

  it("given waitUntil, answers from the snapshot at once and revalidates in the background, inside the bound", async () => {
    await apply([provider("gha", "true")]);
    expect(await lookupProvider(db, "gha", 0)).toMatchObject({ found: true, ok: true });
    await apply([provider("gha", "true"), provider("second", "true")]);
    const background: Promise<unknown>[] = [];
    expect(await lookupProvider(db, "second", REVALIDATE_MS, (p) => background.push(p))).toMatchObject({ found: false });
    expect(background).toHaveLength(1);
    await Promise.all(background);
    expect(await lookupProvider(db, "second", REVALIDATE_MS + 1, (p) => background.push(p))).toMatchObject({ found: true, ok: true });
    expect(background).toHaveLength(1);
  });

  it("never decides on a version older than MAX_POLICY_AGE_MS, even on an idle isolate with waitUntil", async () => {
    await apply([provider("gha", "true")]);
    const first = await lookupProvider(db, "gha", 0);
    await apply([provider("gha", "false")]);
    const background: Promise<unknown>[] = [];
    const afterIdle = await lookupProvider(db, "gha", MAX_POLICY_AGE_MS + 1, (p) => background.push(p));
    expect(background).toHaveLength(0);
    expect(afterIdle.version).toBe(first.version + 1);
    expect(afterIdle.found && afterIdle.ok && evaluateAuthz(afterIdle.value.provider, pull).allowed).toBe(false);
  });

  it("reports the version each lookup was decided on", async () => {
    await apply([provider("gha", "true")]);
    const before = await lookupProvider(db, "gha", 0);
    const missing = await lookupProvider(db, "nobody", 1);
    expect(missing).toEqual({ found: false, version: before.version });
    await apply([provider("gha", "true")]);
    expect((await lookupProvider(db, "gha", MAX_POLICY_AGE_MS + 1)).version).toBe(before.version + 1);
  });

  it("reads one row per version check at steady state, through a D1 session that starts from the newest bookmark", async () => {
    await apply([provider("gha", "true")]);
    const constraints: (string | undefined)[] = [];
    const withSession = db.withSession.bind(db);
    vi.spyOn(db, "withSession").mockImplementation((constraint) => {
      constraints.push(constraint);
      return withSession(constraint);
    });
    await lookupProvider(db, "gha", 0);
    const afterLoad = policyCacheStats();
    for (let i = 1; i <= 5; i++) await lookupProvider(db, "gha", i * REVALIDATE_MS);
    const stats = policyCacheStats();
    expect(stats.versionReads - afterLoad.versionReads).toBe(5);
    expect(stats.rowsRead - afterLoad.rowsRead).toBe(5);
    expect(constraints[0]).toBe("first-unconstrained");
    expect(constraints.slice(1).every((c) => typeof c === "string" && c !== "first-unconstrained" && c !== "first-primary")).toBe(true);
  });

  it("keeps serving a cache inside the bound while D1 fails, then fails closed", async () => {
    await apply([provider("gha", "true")]);
    expect(await lookupProvider(db, "gha", 0)).toMatchObject({ found: true, ok: true });
    vi.spyOn(db, "withSession").mockImplementation(() => {
      throw new Error("D1 is down");
    });
    expect(await lookupProvider(db, "gha", MAX_POLICY_AGE_MS)).toMatchObject({ found: true, ok: true });
    await expect(lookupProvider(db, "gha", MAX_POLICY_AGE_MS + 1)).rejects.toThrow(PolicyStoreUnavailableError);

    resetPolicyCache();
    await expect(lookupProvider(db, "gha", 0)).rejects.toThrow(/policy store unavailable: D1 is down/);
  });
});
