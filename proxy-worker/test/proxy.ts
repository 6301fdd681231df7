/**
 * Calls the proxy Worker's handler inside workerd with a per-test environment
 * (upstream, key source, credentials), and reads what the fake upstream recorded.
 */
import { env } from "cloudflare:test";
import { inject } from "vitest";
import worker, { type Env } from "../src/index.ts";
import type { RecordedRequest, UpstreamMode } from "./fake-upstream.ts";
import { ISSUER, SERVICE } from "./tokens.ts";

export const PROXY = "https://proxy.test";
export const REALM = "https://auth.test/token";

export function upstreamUrl(mode: UpstreamMode = "none"): string {
  return inject("upstreams")[mode];
}

export function proxyEnv(overrides: Partial<Record<keyof Env, unknown>> = {}): Env {
  return {
    UPSTREAM_URL: upstreamUrl("none"),
    TOKEN_REALM: REALM,
    TOKEN_SERVICE: SERVICE,
    TOKEN_ISSUER: ISSUER,
    TOKEN_JWKS: env.TEST_JWKS,
    ...overrides,
  } as Env;
}

export function callProxy(request: Request, testEnv: Env = proxyEnv()): Promise<Response> {
  // A test-built Request has no incoming `cf` properties; the handler reads none.
  return worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, testEnv);
}

export function get(path: string, token?: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
  return new Request(`${PROXY}${path}`, { ...init, headers });
}

export async function recorded(prefix: string, mode: UpstreamMode = "none"): Promise<RecordedRequest[]> {
  const response = await fetch(`${upstreamUrl(mode)}/_test/requests?prefix=${encodeURIComponent(prefix)}`);
  return response.json();
}

/** A repository name no other test uses, so recorded requests never mix. */
export function uniqueRepo(label: string): string {
  return `t/${label}-${crypto.randomUUID().slice(0, 8)}`;
}
