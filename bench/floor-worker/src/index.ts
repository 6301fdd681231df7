/**
 * The floor for the token endpoint: the least work any token server must do
 * for the same request, using the token server's own modules (nothing copied).
 *
 *   GET /floor?service=…   Basic provider:JWT → verify the workload JWT against
 *                          that provider (same JWKS cache, same KV binding), sign
 *                          the registry token the token server grants → 200 JSON
 *   GET /noop              200, empty: the HTTP and runtime cost alone
 *
 * No D1, no CEL, no scope parsing, no log line: whatever the token endpoint
 * spends beyond this is its own overhead.
 */
import type { AccessEntry } from "@jwt-registry-auth/protocol";
import type { Env as TokenServerEnv } from "@jwt-registry-auth/worker/env";
import { verifyWorkloadToken } from "@jwt-registry-auth/worker/identity/verify-workload-token";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { validateProviderConfig } from "@jwt-registry-auth/core/providers/validate";
import { loadSettings } from "@jwt-registry-auth/worker/settings";
import { parseBasicAuth } from "@jwt-registry-auth/worker/token/request";
import { issueRegistryToken } from "@jwt-registry-auth/worker/token/issue-registry-token";

/** The token server's bindings and settings (POLICY_DB is bound, never queried), plus what stands in for D1. */
interface Env extends TokenServerEnv {
  /** ProviderConfig[] as JSON: the providers the token server has in D1. */
  readonly FLOOR_PROVIDERS: string;
  /** AccessEntry[] as JSON: what the token server grants for the benchmark's scopes. */
  readonly FLOOR_ACCESS: string;
}

interface FloorConfig {
  readonly source: string;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly access: readonly AccessEntry[];
}

let parsed: FloorConfig | undefined;

/** Parsed once per isolate, as the token server keeps its providers compiled in memory. */
function floorConfig(env: Env): FloorConfig {
  const source = env.FLOOR_PROVIDERS + env.FLOOR_ACCESS;
  if (parsed?.source !== source) {
    const providers = new Map<string, ProviderConfig>();
    for (const candidate of JSON.parse(env.FLOOR_PROVIDERS) as unknown[]) {
      const checked = validateProviderConfig(candidate);
      if (!checked.ok) throw new Error(`FLOOR_PROVIDERS: ${checked.error}`);
      providers.set(checked.value.name, checked.value);
    }
    parsed = { source, providers, access: JSON.parse(env.FLOOR_ACCESS) as AccessEntry[] };
  }
  return parsed;
}

async function floor(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const credentials = parseBasicAuth(request.headers.get("Authorization"));
  if ("kind" in credentials) return new Response(credentials.kind, { status: 401 });
  const { providers, access } = floorConfig(env);
  const provider = providers.get(credentials.username);
  if (provider === undefined) return new Response("unknown provider", { status: 401 });
  const service = new URL(request.url).searchParams.get("service") ?? "";
  const settings = await loadSettings(env);
  const now = Math.floor(Date.now() / 1000);
  const identity = await verifyWorkloadToken(credentials.password, provider, {
    service,
    kv: env.JWKS_CACHE,
    allowHttpLoopback: settings.allowHttpLoopbackIssuers,
    waitUntil: (p) => ctx.waitUntil(p),
    now,
  });
  if (!identity.ok) return new Response(identity.reason, { status: 401 });
  const body = await issueRegistryToken(settings, `${provider.name}:${identity.value.subject}`, service, access, now);
  return Response.json(body, { headers: { "Cache-Control": "no-store" } });
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/noop") return new Response(null, { status: 200 });
    if (pathname === "/floor") return floor(request, env, ctx);
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
