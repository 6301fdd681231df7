import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { keyMaterial } from "./test/key-material.ts";

export default defineConfig({
  plugins: [
    cloudflareTest(async () => {
      const keys = await keyMaterial();
      const jwks = JSON.stringify(keys.jwks);
      let bindingFetches = 0;
      return {
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_SIGNING_KEY: keys.keyPem,
            TEST_CERT: keys.certPem,
            TEST_JWKS: jwks,
          },
          // Stands in for the token server behind the service binding: serves its JWKS route, and counts.
          serviceBindings: {
            TOKEN_SERVER: (request: Request) => {
              const { pathname } = new URL(request.url);
              if (pathname === "/.well-known/jwks.json") {
                bindingFetches++;
                return new Response(jwks, { headers: { "Content-Type": "application/json" } });
              }
              if (pathname === "/_test/count") return Response.json({ count: bindingFetches });
              return new Response("not found", { status: 404 });
            },
          },
        },
      };
    }),
  ],
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
  },
});
