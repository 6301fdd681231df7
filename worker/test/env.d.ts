// The bindings the workerd tests see through `cloudflare:test`: the Worker's own, plus the migrations.
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      readonly JWKS_CACHE: KVNamespace;
      readonly POLICY_DB: D1Database;
      readonly TEST_MIGRATIONS: D1Migration[];
      /** wrangler.toml's `[[ratelimits]]` (vitest.config.ts reads them with wrangler). */
      readonly TEST_RATE_LIMITS: readonly { readonly name: string; readonly namespace_id: string; readonly simple: { readonly limit: number; readonly period: number } }[];
    }
  }
}
