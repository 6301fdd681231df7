import { env } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../src/index.ts";
import type { Env } from "../src/env.ts";

const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;

/**
 * /healthz's body under `patch`, without its policyCache counters (they depend
 * on what ran before in this isolate), after checking their shape.
 */
export async function healthz(patch: Partial<Env> = {}): Promise<Record<string, unknown>> {
  const response = await worker.fetch(new Request("http://token.test/healthz"), { ...env, ...patch }, ctx);
  const { policyCache, ...rest } = (await response.json()) as Record<string, unknown>;
  expect(policyCache).toEqual({ version: expect.toBeOneOf([null, expect.any(Number)]), versionReads: expect.any(Number), reloads: expect.any(Number), compiles: expect.any(Number), rowsRead: expect.any(Number) });
  return rest;
}
