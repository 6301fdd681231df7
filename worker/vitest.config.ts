import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";
import { testSigningMaterial } from "./test/signing-material.ts";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => {
      const signing = await testSigningMaterial();
      return {
        main: "./src/index.ts",
        wrangler: { configPath: "../wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
            // wrangler.toml's [[ratelimits]], as wrangler reads them: the rate-limit tests count against these numbers.
            TEST_RATE_LIMITS: unstable_readConfig({ config: fileURLToPath(new URL("../wrangler.toml", import.meta.url)) }).ratelimits,
            ALLOW_HTTP_LOOPBACK_ISSUERS: "true",
            TOKEN_ISSUER: "test-token-issuer",
            SIGNING_KEY: signing.key,
            SIGNING_CERT: signing.cert,
          },
        },
      };
    }),
  ],
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["./test/apply-migrations.ts", "./test/kv-limits-setup.ts"],
    globalSetup: ["./test/global-setup.ts"],
  },
});
