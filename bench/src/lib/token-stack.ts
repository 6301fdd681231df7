/**
 * Everything the token benchmarks measure, started on loopback in one call:
 * local GitHub-like OIDC issuers (RS256 and ES256), a fresh ES256 signing key
 * (the CLI's generateSigningMaterial), the token server bundled as deployed and
 * served from workerd with its D1 (migrations applied by wrangler, the example
 * policies applied with the same statements `cli policy apply` runs), and the
 * floor Worker beside it with the same provider, key and grant, and the
 * physical floor (bench/physical-floor-worker: crypto.subtle only) with the
 * same issuers' public keys, signing key and grant. A third
 * provider on the RS256 issuer (worst-request.ts) carries the authz condition
 * the worst admitted request is measured against; the floor doesn't have it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import type { AccessEntry } from "@jwt-registry-auth/protocol";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit";
import { REPO_ROOT } from "@jwt-registry-auth/testkit/repo-root";
import { makeTempDir, removeDir } from "@jwt-registry-auth/testkit/temp-dir";
import { applyD1Migrations } from "@jwt-registry-auth/testkit/wrangler";
import { policyApplyStatements } from "@jwt-registry-auth/core/providers/apply-statements";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { discoveryUrlFor, validateProviderConfig } from "@jwt-registry-auth/core/providers/validate";
import { generateSigningMaterial, type SigningMaterial } from "@jwt-registry-auth/cli/keys/material";
import { bundleWorker, type Bundle } from "./bundle.ts";
import { serveWorker, type ServedWorker } from "./serve.ts";
import { worstAuthzCondition, worstQuery } from "./worst-request.ts";

export const TOKEN_SERVER_CONFIG = "wrangler.toml";
export const FLOOR_CONFIG = "bench/floor-worker/wrangler.toml";
export const PHYSICAL_FLOOR_CONFIG = "bench/physical-floor-worker/wrangler.toml";
export const EXAMPLE_POLICIES = "examples/providers.yaml";
/** The example policies' GitHub provider, and the registry they are written for. */
const EXAMPLE_PROVIDER = "gha";
export const SERVICE = "registry.example.com";
/** Three scopes, four (scope, action) authz evaluations, all granted by the example policy to a main-branch job. */
export const SCOPES = ["repository:example-org/app:pull,push", "repository:example-org/base:pull", "repository:example-org/tools:pull"] as const;
export const TOKEN_ISSUER = "jwt-registry-auth-bench";
/** wrangler.toml's D1 database_id: Miniflare finds wrangler's local database by it. */
const D1_DATABASE_ID = "00000000-0000-0000-0000-000000000000";
/** A GitHub-shaped token lives 5 minutes; the bench's live an hour so they outlast every run. */
const WORKLOAD_TOKEN_SECONDS = 3600;

export type IssuerKind = "RS256" | "ES256";

export interface Bundles {
  readonly tokenServer: Bundle;
  readonly floor: Bundle;
  readonly physicalFloor: Bundle;
}

export interface TokenStack {
  readonly bundles: Bundles;
  readonly tokenServer: ServedWorker;
  readonly floor: ServedWorker;
  /** The physical floor (crypto.subtle only, keys imported once), its own workerd. */
  readonly physicalFloor: ServedWorker;
  /** Provider name → the JWT minted for it (GitHub claims, owner example-org, ref main). */
  readonly providers: Readonly<Record<IssuerKind, { readonly name: string; readonly jwt: string }>>;
  /** `Authorization: Basic …` for a provider. */
  basic(kind: IssuerKind): string;
  /** Token endpoint URL with the service and the three scopes. */
  tokenUrl(): string;
  floorUrl(kind?: IssuerKind): string;
  noopUrl(): string;
  physicalFloorUrl(): string;
  /** The no-op on the physical floor's workerd. */
  physicalNoopUrl(): string;
  /** The providers in D1 (the example GitHub policy on the local issuers), by issuer kind. */
  readonly providerConfigs: Readonly<Record<IssuerKind, ProviderConfig>>;
  /** The provider the worst admitted request is sent to (RS256 issuer, same JWT), its Basic header, and the token URL with `scopeCount` worst-case scopes. */
  readonly worst: { readonly config: ProviderConfig; readonly basic: string; url(scopeCount?: number): string };
  /** The token server's settings bindings (signing key included). */
  readonly bindings: Readonly<Record<string, string>>;
  /** The signing certificate: what a registry or the proxy trusts. */
  readonly certPem: string;
  /** What the token server granted for SCOPES (and what the floor signs). */
  readonly access: readonly AccessEntry[];
  /** Serve another token-server instance on the same D1 (a cold isolate); fresh KV unless `kvPersist` is given; another bundle of it (e.g. a saved "before") with `scriptPath`. */
  serveTokenServer(options?: { scriptPath?: string; kvPersist?: string; inspector?: boolean }): Promise<ServedWorker>;
  stop(): Promise<void>;
}

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export function tokenQuery(): string {
  return `service=${encodeURIComponent(SERVICE)}&${SCOPES.map((s) => `scope=${encodeURIComponent(s)}`).join("&")}`;
}

/** The example GitHub provider, pointed at a local issuer and the bench registry. */
export function benchProviders(issuers: Readonly<Record<IssuerKind, string>>): ProviderConfig[] {
  const parsed = parseProvidersConfig(readFileSync(join(REPO_ROOT, EXAMPLE_POLICIES), "utf8"), EXAMPLE_POLICIES);
  if (parsed.errors.length > 0) throw new Error(`${EXAMPLE_POLICIES} does not load: ${parsed.errors.map((e) => e.message).join("; ")}`);
  const example = parsed.providers.find((p) => p.name === EXAMPLE_PROVIDER);
  if (example === undefined) throw new Error(`${EXAMPLE_POLICIES} has no provider ${EXAMPLE_PROVIDER}`);
  return (["RS256", "ES256"] as const).map((kind) => {
    const candidate = { ...example, name: `gha-${kind.toLowerCase()}`, issuer: issuers[kind], keys: { source: "discovery", discoveryUrl: discoveryUrlFor(issuers[kind]) } };
    const checked = validateProviderConfig(candidate);
    if (!checked.ok) throw new Error(`bench provider ${candidate.name}: ${checked.error}`);
    return checked.value;
  });
}

/** The RS256 provider with the example policy's authz widened to every worst-request action (worst-request.ts). */
export function worstProvider(rs256: ProviderConfig): ProviderConfig {
  const checked = validateProviderConfig({ ...rs256, name: "gha-worst", authz: worstAuthzCondition() });
  if (!checked.ok) throw new Error(`bench provider gha-worst: ${checked.error}`);
  return checked.value;
}

let bundled: Promise<Bundles> | undefined;

/** Bundles both Workers once per process (into a directory that lives as long as it); every benchmark serves the same bundles. */
export function bundleBoth(): Promise<Bundles> {
  if (bundled === undefined) {
    const dir = makeTempDir("bench-bundles");
    process.on("exit", () => removeDir(dir));
    bundled = Promise.all([bundleWorker(TOKEN_SERVER_CONFIG, join(dir, "token-server")), bundleWorker(FLOOR_CONFIG, join(dir, "floor")), bundleWorker(PHYSICAL_FLOOR_CONFIG, join(dir, "physical-floor"))]).then(
      ([tokenServer, floor, physicalFloor]) => ({ tokenServer, floor, physicalFloor }),
    );
    bundled.catch(() => {
      bundled = undefined;
    });
  }
  return bundled;
}

function signingBindings(material: SigningMaterial): Record<string, string> {
  // An hour-long registry token outlasts every run that reuses one (the proxy benchmarks).
  return { TOKEN_ISSUER, TOKEN_TTL_SECONDS: "3600", SIGNING_KEY: material.keyPem, SIGNING_CERT: material.certPem, ALLOW_HTTP_LOOPBACK_ISSUERS: "true" };
}

export async function startTokenStack(): Promise<TokenStack> {
  const dir = makeTempDir("bench-token");
  const issuers: OidcIssuer[] = [];
  const served: ServedWorker[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(served.map((w) => w.stop()));
    await Promise.all(issuers.map((i) => i.close()));
    removeDir(dir);
  };
  try {
    const persistTo = join(dir, "state");
    const [rs, es, material, bundles] = await Promise.all([
      startOidcIssuer({ alg: "RS256", path: "/github-rs256" }),
      startOidcIssuer({ alg: "ES256", path: "/github-es256" }),
      generateSigningMaterial({ alg: "ES256", subject: "jwt-registry-auth bench" }),
      bundleBoth(),
      applyD1Migrations({ config: TOKEN_SERVER_CONFIG, persistTo }),
    ]);
    issuers.push(rs, es);
    const providers = benchProviders({ RS256: rs.url, ES256: es.url });
    const d1Persist = join(persistTo, "v3", "d1");

    const serveTokenServer = async (options: { scriptPath?: string; kvPersist?: string; inspector?: boolean } = {}): Promise<ServedWorker> => {
      const worker = await serveWorker({
        scriptPath: options.scriptPath ?? bundles.tokenServer.scriptPath,
        compatibilityDate: bundles.tokenServer.compatibilityDate,
        bindings: signingBindings(material),
        kvNamespaces: ["JWKS_CACHE"],
        d1Databases: { POLICY_DB: D1_DATABASE_ID },
        d1Persist,
        ...(options.kvPersist !== undefined && { kvPersist: options.kvPersist }),
        ...(options.inspector === true && { inspector: true }),
      });
      served.push(worker);
      return worker;
    };
    const tokenServer = await serveTokenServer();
    const db = await tokenServer.miniflare.getD1Database("POLICY_DB");
    const worst = worstProvider(providers[0] as ProviderConfig);
    const statements = policyApplyStatements([...providers, worst], { appliedAt: new Date().toISOString(), sourceSha256: "bench" });
    await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));

    const mintFor = (issuer: OidcIssuer) => issuer.github({ owner: "example-org", ref: "refs/heads/main", audience: SERVICE }, { expiresIn: WORKLOAD_TOKEN_SECONDS });
    const jwts = { RS256: await mintFor(rs), ES256: await mintFor(es) };
    const names = { RS256: (providers[0] as ProviderConfig).name, ES256: (providers[1] as ProviderConfig).name };
    const basic = (kind: IssuerKind): string => basicAuth(names[kind], jwts[kind]);

    const probe = await fetch(`${tokenServer.url}/token?${tokenQuery()}`, { headers: { Authorization: basic("RS256") } });
    const probeBody = await probe.text();
    if (probe.status !== 200) throw new Error(`token server answered ${probe.status}: ${probeBody.slice(0, 300)}\n${tokenServer.recentLogs().join("\n")}`);
    const access = decodeJwt((JSON.parse(probeBody) as { token: string }).token)["access"] as AccessEntry[];
    if (access.reduce((n, a) => n + a.actions.length, 0) !== 4) throw new Error(`expected the example policy to grant 4 actions, got ${JSON.stringify(access)}`);

    const floor = await serveWorker({
      scriptPath: bundles.floor.scriptPath,
      compatibilityDate: bundles.floor.compatibilityDate,
      bindings: {
        ...signingBindings(material),
        FLOOR_PROVIDERS: JSON.stringify(providers),
        FLOOR_ACCESS: JSON.stringify(access),
      },
      kvNamespaces: ["JWKS_CACHE"],
      d1Databases: { POLICY_DB: D1_DATABASE_ID },
    });
    served.push(floor);
    for (const kind of ["RS256", "ES256"] as const) {
      const check = await fetch(`${floor.url}/floor?service=${encodeURIComponent(SERVICE)}`, { headers: { Authorization: basic(kind) } });
      if (check.status !== 200) throw new Error(`floor Worker answered ${check.status} for ${kind}: ${(await check.text()).slice(0, 300)}`);
      await check.body?.cancel();
    }
    const physicalFloor = await serveWorker({
      scriptPath: bundles.physicalFloor.scriptPath,
      compatibilityDate: bundles.physicalFloor.compatibilityDate,
      bindings: {
        ...signingBindings(material),
        PHYSICAL_FLOOR: JSON.stringify({
          providers: { [names.RS256]: { issuer: rs.url, jwks: rs.jwks() }, [names.ES256]: { issuer: es.url, jwks: es.jwks() } },
          access,
        }),
      },
    });
    served.push(physicalFloor);
    const physicalFloorUrl = `${physicalFloor.url}/floor?service=${encodeURIComponent(SERVICE)}`;
    for (const kind of ["RS256", "ES256"] as const) {
      const check = await fetch(physicalFloorUrl, { headers: { Authorization: basic(kind) } });
      const body = await check.text();
      if (check.status !== 200) throw new Error(`physical floor Worker answered ${check.status} for ${kind}: ${body.slice(0, 300)}\n${physicalFloor.recentLogs().join("\n")}`);
      const granted = decodeJwt((JSON.parse(body) as { token: string }).token)["access"];
      if (JSON.stringify(granted) !== JSON.stringify(access)) throw new Error(`physical floor granted ${JSON.stringify(granted)}, the token server ${JSON.stringify(access)}`);
    }
    return {
      bundles,
      tokenServer,
      floor,
      physicalFloor,
      providers: { RS256: { name: names.RS256, jwt: jwts.RS256 }, ES256: { name: names.ES256, jwt: jwts.ES256 } },
      basic,
      tokenUrl: () => `${tokenServer.url}/token?${tokenQuery()}`,
      floorUrl: () => `${floor.url}/floor?service=${encodeURIComponent(SERVICE)}`,
      noopUrl: () => `${floor.url}/noop`,
      physicalFloorUrl: () => physicalFloorUrl,
      physicalNoopUrl: () => `${physicalFloor.url}/noop`,
      access,
      worst: { config: worst, basic: basicAuth(worst.name, jwts.RS256), url: (scopeCount) => `${tokenServer.url}/token?${worstQuery(SERVICE, scopeCount)}` },
      providerConfigs: { RS256: providers[0] as ProviderConfig, ES256: providers[1] as ProviderConfig },
      bindings: signingBindings(material),
      certPem: material.certPem,
      serveTokenServer,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
