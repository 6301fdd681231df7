import { applyD1Migrations, env } from "cloudflare:test";

declare module "cloudflare:test" {
  interface ProvidedEnv {
    readonly TEST_MIGRATIONS: D1Migration[];
  }
}

await applyD1Migrations(env.POLICY_DB, env.TEST_MIGRATIONS);
