// The bindings the workerd tests see through `cloudflare:test`: the Worker's own, plus the migrations.
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      readonly JWKS_CACHE: KVNamespace;
      readonly POLICY_DB: D1Database;
      readonly TEST_MIGRATIONS: D1Migration[];
    }
  }
}
