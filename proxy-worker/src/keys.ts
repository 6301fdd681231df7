/**
 * Registry-token verification keys, cached in isolate memory. Keys come from the
 * token server (through a service binding or a JWKS URL) or are configured
 * inline (a JWKS, or PEM certificates / public keys). Remote keys are fetched
 * once, refreshed when they grow old, and refetched early when a token names an
 * unknown `kid` — at most once per cooldown, with concurrent misses sharing one
 * fetch. No request fetches keys on its own.
 */
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  importSPKI,
  importX509,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";

export type KeySource =
  | { readonly kind: "jwks"; readonly jwks: string }
  | { readonly kind: "pem"; readonly pem: string }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "binding"; readonly fetcher: Fetcher };

/** Keys could not be obtained at all: the proxy's problem, not the client's token. */
export class KeySourceError extends Error {
  override readonly name = "KeySourceError";
}

export interface KeyCacheOptions {
  /** How long fetched keys are used before a refresh (ms). */
  readonly maxAgeMs: number;
  /** If a refresh fails, keys this old (ms) are still used. */
  readonly staleMaxMs: number;
  /** Minimum gap between fetches after a failure or for an unknown `kid` (ms). */
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

export const DEFAULT_KEY_CACHE_OPTIONS: KeyCacheOptions = {
  maxAgeMs: 10 * 60_000,
  staleMaxMs: 24 * 3_600_000,
  cooldownMs: 30_000,
  timeoutMs: 5_000,
  now: () => Date.now(),
};

/** What the binding serves: the token server's JWKS route. A service binding ignores the host. */
const BINDING_JWKS_URL = "https://token-server/.well-known/jwks.json";

export interface VerificationKeys {
  /** Loads the keys if needed; throws {@link KeySourceError} when there are none to verify with. */
  ready(): Promise<void>;
  /** For `jwtVerify`: picks the key by `kid`/`alg`, refetching once (outside the cooldown) on an unknown `kid`. */
  readonly getKey: JWTVerifyGetKey;
}

/** Algorithms a PEM key may be for, tried in turn: the key's type and curve decide which one imports. */
const PEM_ALGS = ["ES256", "ES384", "ES512", "RS256"] as const;
const PEM_BLOCK = /-----BEGIN (CERTIFICATE|PUBLIC KEY)-----[\s\S]+?-----END \1-----/g;

async function pemToJwk(block: string, type: string): Promise<JWK> {
  for (const alg of PEM_ALGS) {
    try {
      const key = type === "CERTIFICATE" ? await importX509(block, alg, { extractable: true }) : await importSPKI(block, alg, { extractable: true });
      const jwk = await exportJWK(key);
      // The token server's kid is the RFC 7638 thumbprint. RSA keys carry no
      // `alg` so that RS384/RS512 tokens can select them too.
      return { ...jwk, kid: await calculateJwkThumbprint(jwk), ...(jwk.kty === "EC" && { alg }) };
    } catch {
      continue;
    }
  }
  throw new KeySourceError("a PEM block in TOKEN_CERTS is not an EC P-256/384/521 or RSA key");
}

export async function jwksFromPem(pem: string): Promise<JSONWebKeySet> {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new KeySourceError("TOKEN_CERTS holds no PEM certificate or public key");
  return { keys: await Promise.all(blocks.map((m) => pemToJwk(m[0], m[1] as string))) };
}

/** Keeps the public signature keys of a JWKS document; a document with none is an error. */
export function parseJwks(text: string, origin: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeySourceError(`${origin} is not JSON`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "object" && k !== null && typeof (k as JWK).kty === "string")) {
    throw new KeySourceError(`${origin} is not a JWKS document`);
  }
  const usable = (keys as JWK[]).filter((k) => (k.kty === "EC" || k.kty === "RSA") && k.use !== "enc" && k.d === undefined);
  if (usable.length === 0) throw new KeySourceError(`${origin} holds no EC or RSA public signature key`);
  return { keys: usable };
}

interface Loaded {
  readonly getKey: JWTVerifyGetKey;
  readonly fetchedAt: number;
}

class CachedKeys implements VerificationKeys {
  private loaded: Loaded | undefined;
  private inflight: Promise<Loaded> | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastError: KeySourceError | undefined;

  constructor(
    private readonly load: () => Promise<JSONWebKeySet>,
    private readonly remote: boolean,
    private readonly options: KeyCacheOptions,
  ) {}

  private refresh(): Promise<Loaded> {
    this.inflight ??= (async () => {
      this.lastAttempt = this.options.now();
      try {
        const jwks = await this.load();
        this.loaded = { getKey: createLocalJWKSet(jwks), fetchedAt: this.options.now() };
        this.lastError = undefined;
        return this.loaded;
      } catch (error) {
        this.lastError = error instanceof KeySourceError ? error : new KeySourceError("verification keys could not be loaded");
        throw this.lastError;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  async ready(): Promise<void> {
    const now = this.options.now();
    const age = this.loaded ? now - this.loaded.fetchedAt : Number.POSITIVE_INFINITY;
    if (age < (this.remote ? this.options.maxAgeMs : Number.POSITIVE_INFINITY)) return;
    // Right after a failed refresh, keep using usable keys (or keep failing fast) until the cooldown passes.
    if (this.lastError && this.inflight === undefined && now - this.lastAttempt < this.options.cooldownMs) {
      if (age < this.options.staleMaxMs) return;
      throw this.lastError;
    }
    try {
      await this.refresh();
    } catch (error) {
      // Old keys beat no keys while the token server is briefly unreachable.
      if (age < this.options.staleMaxMs) return;
      throw error;
    }
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    await this.ready();
    const current = this.loaded as Loaded;
    try {
      return await current.getKey(header, token);
    } catch (error) {
      const unknownKid = error instanceof joseErrors.JWKSNoMatchingKey;
      if (!unknownKid || !this.remote || this.options.now() - this.lastAttempt < this.options.cooldownMs) throw error;
      // A kid never seen before: the token server may have rotated in a new key.
      const refreshed = await this.refresh().catch(() => {
        throw error;
      });
      return refreshed.getKey(header, token);
    }
  };
}

async function fetchJwks(doFetch: () => Promise<Response>, origin: string): Promise<JSONWebKeySet> {
  let response: Response;
  try {
    response = await doFetch();
  } catch {
    throw new KeySourceError(`${origin} could not be reached`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new KeySourceError(`${origin} answered ${response.status}`);
  }
  return parseJwks(await response.text(), origin);
}

function sourceId(source: KeySource): string {
  switch (source.kind) {
    case "jwks":
      return `jwks:${source.jwks}`;
    case "pem":
      return `pem:${source.pem}`;
    case "url":
      return `url:${source.url}`;
    case "binding":
      return "binding:TOKEN_SERVER";
  }
}

function loaderFor(source: KeySource, options: KeyCacheOptions): () => Promise<JSONWebKeySet> {
  const init = { headers: { Accept: "application/json" } };
  switch (source.kind) {
    case "jwks":
      return async () => parseJwks(source.jwks, "TOKEN_JWKS");
    case "pem":
      return () => jwksFromPem(source.pem);
    case "url":
      return () => fetchJwks(() => fetch(source.url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) }), "TOKEN_JWKS_URL");
    case "binding":
      return () =>
        fetchJwks(
          () => source.fetcher.fetch(BINDING_JWKS_URL, { ...init, signal: AbortSignal.timeout(options.timeoutMs) }),
          "the TOKEN_SERVER binding's /.well-known/jwks.json",
        );
  }
}

const cache = new Map<string, CachedKeys>();

/**
 * The isolate-wide key cache for a source. Bindings are isolate-wide too, so a
 * service binding's `Fetcher` from the first request serves later ones.
 */
export function verificationKeys(source: KeySource, options: KeyCacheOptions = DEFAULT_KEY_CACHE_OPTIONS): VerificationKeys {
  const id = sourceId(source);
  let keys = cache.get(id);
  if (!keys) {
    keys = new CachedKeys(loaderFor(source, options), source.kind === "url" || source.kind === "binding", options);
    cache.set(id, keys);
  }
  return keys;
}

/** A remote-key cache of its own, outside the isolate-wide one (tests steer its clock and loader). */
export function createKeyCache(load: () => Promise<JSONWebKeySet>, options: KeyCacheOptions): VerificationKeys {
  return new CachedKeys(load, true, options);
}
