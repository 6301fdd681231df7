import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.POLICY_DB, env.TEST_MIGRATIONS);
