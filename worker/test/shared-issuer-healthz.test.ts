/**
 * /healthz names the providers applied with `sharedIssuer: unpinned-acknowledged`
 * (a shared issuer, no owner pin in authn, on purpose), with a warning; it
 * leaves productionReady alone, since the choice was made deliberately.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { acknowledgedUnpinnedProviders, CACHE_MS, resetAcknowledgedUnpinnedCache } from "../src/policy/acknowledged-unpinned.ts";
import { discoveryProvider, putProviders } from "./providers.ts";
import { healthz } from "./healthz.ts";

const GITHUB = "https://token.actions.githubusercontent.com";
const ready = { ALLOWED_SERVICES: "registry.test" };
const health = () => healthz(ready);

beforeEach(() => resetAcknowledgedUnpinnedCache());

describe("/healthz and sharedIssuer: unpinned-acknowledged", () => {
  it("says nothing when no provider is acknowledged-unpinned", async () => {
    await putProviders([discoveryProvider("gha", GITHUB, { authn: 'claims.repository_owner_id == "1"' })]);
    expect(await health()).toEqual({ ok: true, productionReady: true });
  });

  it("names the acknowledged providers, with a warning, and stays production-ready", async () => {
    await putProviders([
      discoveryProvider("pinned", GITHUB, { authn: 'claims.repository_owner_id == "1"' }),
      discoveryProvider("open-gl", "https://gitlab.com", { sharedIssuer: "unpinned-acknowledged" }),
      discoveryProvider("open-gh", GITHUB, { sharedIssuer: "unpinned-acknowledged" }),
    ]);
    expect(await health()).toEqual({
      ok: true,
      productionReady: true,
      warnings: [expect.stringMatching(/^provider\(s\) open-gh, open-gl trust a shared issuer without an owner pin in authn \(sharedIssuer: unpinned-acknowledged\)/)],
      sharedIssuerUnpinned: ["open-gh", "open-gl"],
    });
  });

  it("reads D1 at most once per CACHE_MS per isolate, and reports an unreadable D1 as unknown", async () => {
    await putProviders([discoveryProvider("open-gh", GITHUB, { sharedIssuer: "unpinned-acknowledged" })]);
    expect(await acknowledgedUnpinnedProviders(env.POLICY_DB, 1_000)).toEqual(["open-gh"]);
    await putProviders([discoveryProvider("pinned", GITHUB, { authn: 'claims.repository_owner_id == "1"' })]);
    expect(await acknowledgedUnpinnedProviders(env.POLICY_DB, 1_000 + CACHE_MS - 1)).toEqual(["open-gh"]);
    expect(await acknowledgedUnpinnedProviders(env.POLICY_DB, 1_000 + CACHE_MS)).toEqual([]);
    resetAcknowledgedUnpinnedCache();
    const broken = { prepare: () => { throw new Error("D1 down"); } } as unknown as D1Database;
    expect(await acknowledgedUnpinnedProviders(broken)).toBeUndefined();
  });
});
