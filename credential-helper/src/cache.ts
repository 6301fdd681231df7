/**
 * The refresh-token cache: one 0600 file per (registry, provider) under
 * `${XDG_CACHE_HOME:-$HOME/.cache}/jwt-registry-auth/`, holding the refresh
 * token and when it was issued and expires. A `get` answers from it until the
 * token is close to expiry, so a busy build asks the token server once per
 * token lifetime, and a long job renews before docker could see it expire.
 */
import { rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Env } from "./client/env.ts";
import { isJsonObject, readJsonObject, writeJsonObject } from "./client/json-file.ts";

export interface CachedLogin {
  readonly refreshToken: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** The service the token is bound to: a cache entry for another service is not used. */
  readonly service: string;
}

export function cacheDir(env: Env, home: string = homedir(), configured?: string): string {
  if (configured !== undefined) return configured;
  const base = env["XDG_CACHE_HOME"] !== undefined && env["XDG_CACHE_HOME"] !== "" ? env["XDG_CACHE_HOME"] : join(home, ".cache");
  return join(base, "jwt-registry-auth");
}

/** `127.0.0.1%3A5000@gitlab.json`: readable, and no registry or provider name can escape the directory. */
export function cachePath(dir: string, host: string, provider: string): string {
  return join(dir, `${encodeURIComponent(host)}@${encodeURIComponent(provider)}.json`);
}

const isSeconds = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value > 0;

/** The entry, or undefined when there is none or it is unreadable (it is only a cache: the caller mints anew). */
export function readCache(path: string): CachedLogin | undefined {
  let value: unknown;
  try {
    value = readJsonObject(path, "refresh-token cache");
  } catch {
    return undefined;
  }
  if (!isJsonObject(value)) return undefined;
  const { refreshToken, issuedAt, expiresAt, service } = value;
  if (typeof refreshToken !== "string" || refreshToken === "" || typeof service !== "string" || !isSeconds(issuedAt) || !isSeconds(expiresAt)) return undefined;
  return { refreshToken, issuedAt, expiresAt, service };
}

export function writeCache(path: string, entry: CachedLogin): void {
  writeJsonObject(path, { ...entry }, "refresh-token cache");
}

export function eraseCache(path: string): void {
  rmSync(path, { force: true });
}

/** The least time left at which a cached token is still handed out (seconds). */
const MIN_REMAINING_SECONDS = 60;

/**
 * A token is renewed once less than a quarter of its lifetime (and at least a
 * minute) is left: docker trades it for registry tokens during the command
 * that asked, so it must outlive that command. A configured `service` that
 * differs from the one the token is bound to means the config changed: renew.
 */
export function isFresh(entry: CachedLogin, nowSeconds: number, service?: string): boolean {
  if (service !== undefined && entry.service !== service) return false;
  const lifetime = entry.expiresAt - entry.issuedAt;
  return entry.expiresAt - nowSeconds > Math.max(MIN_REMAINING_SECONDS, lifetime / 4);
}
