/**
 * The token server Worker: Distribution token auth over workload JWTs.
 *
 *   GET|POST /token, /auth/token   registry tokens (and refresh tokens)
 *   GET /.well-known/jwks.json     public keys of the registry-token signing keys
 *   GET /certs.pem                 their certificates: the registry's rootcertbundle
 *   GET /healthz                   200 when the settings load; says whether it is production-ready,
 *                                  and names providers applied with sharedIssuer: unpinned-acknowledged
 */
import { errorResponse, internalErrorResponse, misconfiguredResponse, SettingError } from "@jwt-registry-auth/protocol";
// hono/tiny: PatternRouter instead of the default SmartRouter (RegExpRouter + TrieRouter), ~5 KB smaller minified; a handful of static paths needs no more (issue 12).
import { Hono } from "hono/tiny";
import type { Context } from "hono";
import type { Env } from "./env.ts";
import { loadSettings, type Settings } from "./settings.ts";
import { handleTokenRequest } from "./token/handler.ts";
import { missingRateLimitBindings } from "./token/rate-limit.ts";
import { acknowledgedUnpinnedProviders, acknowledgedUnpinnedWarning } from "./policy/acknowledged-unpinned.ts";
import { policyCacheStats } from "./policy/store.ts";

type AppContext = Context<{ Bindings: Env }>;

const app = new Hono<{ Bindings: Env }>();

/** Runs `fn` with the settings, or answers the 500 that names the broken setting (the log line says what is wrong with it). */
async function withSettings(c: AppContext, fn: (settings: Settings) => Response | Promise<Response>): Promise<Response> {
  try {
    return await fn(await loadSettings(c.env));
  } catch (error) {
    if (error instanceof SettingError) {
      console.error(JSON.stringify({ event: "settings_error", path: new URL(c.req.url).pathname, setting: error.setting, reason: error.message }));
      return misconfiguredResponse("token server", error.setting);
    }
    throw error;
  }
}

for (const path of ["/token", "/auth/token"]) {
  app.on(["GET", "POST"], path, (c) => handleTokenRequest(c.req.raw, c.env, c.executionCtx as ExecutionContext));
}

app.get("/.well-known/jwks.json", (c) =>
  withSettings(c, (s) =>
    Response.json(s.signing.jwks, {
      // Short, so registries and proxies pick up a rotated key within minutes.
      headers: { "Cache-Control": "public, max-age=300" },
    }),
  ),
);

app.get("/certs.pem", (c) =>
  withSettings(c, (s) => new Response(s.signing.certificatesPem, { headers: { "Content-Type": "application/x-pem-file", "Cache-Control": "public, max-age=300" } })),
);

app.get("/healthz", (c) =>
  withSettings(c, async ({ productionWarnings }) => {
    // Providers applied with sharedIssuer: unpinned-acknowledged (a deliberate choice, so productionReady
    // does not change): named, with a warning. `null` when D1 could not be read for the list.
    const unpinned = await acknowledgedUnpinnedProviders(c.env.POLICY_DB);
    // Without its rate-limit bindings (an old wrangler.toml) the server issues unlimited: not production-ready.
    const missingLimits = missingRateLimitBindings(c.env);
    const limitWarnings = missingLimits.length > 0 ? [`rate-limit bindings missing (${missingLimits.join(", ")}): token issuance is not rate limited; declare them as wrangler.toml does`] : [];
    const warnings = [...productionWarnings, ...limitWarnings, ...(unpinned !== undefined && unpinned.length > 0 ? [acknowledgedUnpinnedWarning(unpinned)] : [])];
    return Response.json(
      {
        ok: true,
        productionReady: productionWarnings.length === 0 && missingLimits.length === 0,
        ...(warnings.length > 0 && { warnings }),
        ...(unpinned === undefined ? { sharedIssuerUnpinned: null } : unpinned.length > 0 ? { sharedIssuerUnpinned: unpinned } : {}),
        // This isolate's policy cache (no policy text): the version it decides on and what it cost D1 (docs/operations.md).
        policyCache: policyCacheStats(),
      },
      { headers: { "Cache-Control": "no-store" } },
    );
  }),
);

app.notFound(() => errorResponse(404, "UNSUPPORTED", "not found", { detail: { reason: "not_found" } }));

app.onError((error) => {
  // The message of an unexpected error never reaches the client, and holds no credential by construction.
  console.error(JSON.stringify({ event: "unhandled_error", error: error instanceof Error ? error.name : "unknown" }));
  return internalErrorResponse("token server");
});

export default app;
