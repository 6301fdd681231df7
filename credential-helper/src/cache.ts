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
import type { Env } from "@jwt-registry-auth/client/env";
import { isJsonObject, readJsonObject, writeJsonObject } from "./json-file.ts";

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

/** Renew when less than this is left (seconds)… */
export const RENEW_BEFORE_SECONDS = 5 * 60;
/** …or less than this share of the token's lifetime. */
export const RENEW_BEFORE_FRACTION = 0.1;

/**
 * How long before expiry a token is renewed: 5 minutes or a tenth of its
 * lifetime, whichever is longer — docker trades the token for registry tokens
 * during the command that asked, so it must outlive that command — but never
 * more than half its lifetime, so even a short-lived token is reused.
 */
export function renewMargin(entry: CachedLogin): number {
  const lifetime = Math.max(0, entry.expiresAt - entry.issuedAt);
  return Math.min(Math.max(RENEW_BEFORE_SECONDS, lifetime * RENEW_BEFORE_FRACTION), lifetime / 2);
}

/**
 * The cached token is handed out as is while more than its renew margin is
 * left. A configured `service` that differs from the one the token is bound
 * to means the config changed: renew.
 */
export function isFresh(entry: CachedLogin, nowSeconds: number, service?: string): boolean {
  if (service !== undefined && entry.service !== service) return false;
  return entry.expiresAt - nowSeconds > renewMargin(entry);
}
