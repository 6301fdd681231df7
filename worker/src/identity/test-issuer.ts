/**
 * For tests only: drives a loopback issuer of testkit/src/oidc-issuer.ts from
 * inside workerd through its `/_test/*` endpoints. Each {@link freshIssuer} is a
 * new path prefix, i.e. an independent issuer with its own keys, stats and down
 * flag, so tests that count fetches or rotate keys don't disturb each other.
 */
import type { JWK } from "jose";
import type { ProviderConfig } from "@jwt-registry-auth/core/providers/model";

export interface MintRequest {
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  /** Seconds; negative mints an already expired token. */
  readonly expiresIn?: number;
  /** Epoch seconds the issuer treats as now (`iat`, `nbf`, `exp` derive from it). */
  readonly now?: number;
}

export interface TestIssuer {
  readonly url: string;
  mint(request?: MintRequest): Promise<string>;
  stats(): Promise<{ discovery: number; jwks: number }>;
  setDown(down: boolean): Promise<void>;
  /** Makes discovery and/or the JWKS answer that many ms late. */
  setDelay(delay: { discoveryMs?: number; jwksMs?: number }): Promise<void>;
  /** A new signing key; the JWKS keeps the old ones too with `keepOld`. */
  rotate(keepOld?: boolean): Promise<void>;
  privateJwk(): Promise<{ alg: string; kid: string; jwk: JWK }>;
}

async function call<T>(url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * A new issuer on the same loopback server as `base` (an `inject("githubIssuer")`-style URL).
 * It is created here, before the test uses it: the server makes an issuer's key on
 * first use, and concurrent first requests would each make a different one.
 */
export async function freshIssuer(base: string): Promise<TestIssuer> {
  const url = `${new URL(base).origin}/t-${crypto.randomUUID()}`;
  await call(`${url}/_test/stats`);
  return {
    url,
    mint: async (request = {}) => (await call<{ token: string }>(`${url}/_test/mint`, request)).token,
    stats: () => call(`${url}/_test/stats`),
    setDown: async (down) => {
      await call(`${url}/_test/down`, { down });
    },
    setDelay: async (delay) => {
      await call(`${url}/_test/delay`, delay);
    },
    rotate: async (keepOld = false) => {
      await call(`${url}/_test/rotate`, { keepOld });
    },
    privateJwk: () => call(`${url}/_test/private-jwk`),
  };
}

/** A discovery provider for `issuer` that accepts the default audiences. */
export function discoveryProvider(issuer: string, overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return { name: "test", issuer, keys: { source: "discovery", discoveryUrl: issuer }, audiences: [], refreshSeconds: 0, ...overrides };
}

/** The public half of a private JWK. */
export function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}
