/**
 * The token path's parts, run in this Node process with the token server's own
 * modules: what verifying, deciding and signing cost without HTTP or workerd
 * around them. Node's WebCrypto is OpenSSL and workerd's is BoringSSL, so
 * these are the shape of the costs, not workerd's exact figures.
 */
import { decodeJwt } from "jose";
import type { AccessEntry } from "@jwt-registry-auth/protocol";
import type { Env } from "@jwt-registry-auth/worker/env";
import { verifyWorkloadToken } from "@jwt-registry-auth/worker/identity/verify-workload-token";
import { evaluateAuthn, evaluateAuthz } from "@jwt-registry-auth/core/policy/evaluate";
import { compileProvider, type LoadedProvider } from "@jwt-registry-auth/core/providers/compile-provider";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";
import { loadSettings, type Settings } from "@jwt-registry-auth/worker/settings";
import { issueRegistryToken } from "@jwt-registry-auth/worker/token/issue-registry-token";

/** Runs `op` for at least `minMs` (and `minRuns` times) after `warmup` runs; µs per run. */
export async function timeOp(op: () => unknown, options: { minMs?: number; minRuns?: number; warmup?: number } = {}): Promise<{ usPerOp: number; runs: number }> {
  for (let i = 0; i < (options.warmup ?? 20); i++) await op();
  const minMs = options.minMs ?? 1000;
  const minRuns = options.minRuns ?? 50;
  let runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < minMs) {
    await op();
    runs++;
  }
  return { usPerOp: ((performance.now() - start) * 1000) / runs, runs };
}

export interface TokenPathParts {
  /** verifyWorkloadToken with warm keys (issuer keys in isolate memory). */
  verify(): Promise<void>;
  /** authn once and authz per granted action, as the handler does for the bench scopes. */
  decide(): void;
  /** issueRegistryToken: claims + ES256 signature + x5c header. */
  sign(): Promise<void>;
}

export interface TokenPathInput {
  readonly provider: ProviderConfig;
  readonly jwt: string;
  readonly service: string;
  readonly access: readonly AccessEntry[];
  /** The token server's settings bindings (TOKEN_ISSUER, SIGNING_KEY, SIGNING_CERT, …). */
  readonly bindings: Readonly<Record<string, string>>;
  /** The JWKS cache's KV (Miniflare's, reached from Node); only the first verification touches it. */
  readonly kv: KVNamespace;
}

export async function tokenPathParts(input: TokenPathInput): Promise<TokenPathParts> {
  // The parts only read settings and JWKS_CACHE; POLICY_DB is the handler's, not theirs.
  const env = { ...input.bindings, JWKS_CACHE: input.kv } as unknown as Env;
  const settings: Settings = await loadSettings(env);
  const compiled = compileProvider(input.provider);
  if (!compiled.ok) throw new Error(`provider ${input.provider.name} does not compile`);
  const loaded: LoadedProvider = compiled.value.provider;
  const claims = decodeJwt(input.jwt) as Record<string, unknown>;
  const verify = async (): Promise<void> => {
    const result = await verifyWorkloadToken(input.jwt, input.provider, { service: input.service, kv: input.kv, allowHttpLoopback: true });
    if (!result.ok) throw new Error(`verification failed: ${result.reason}`);
  };
  const decide = (): void => {
    if (!evaluateAuthn(loaded, { service: input.service, claims }).allowed) throw new Error("authn refused");
    for (const entry of input.access) {
      for (const action of entry.actions) {
        if (!evaluateAuthz(loaded, { service: input.service, claims, scope: { type: entry.type, name: entry.name, action } }).allowed) throw new Error("authz refused");
      }
    }
  };
  const sign = async (): Promise<void> => {
    await issueRegistryToken(settings, `${input.provider.name}:${String(claims["sub"])}`, input.service, input.access, Math.floor(Date.now() / 1000));
  };
  await verify();
  return { verify, decide, sign };
}
