/**
 * The workload token's audience is tied to the requested service, end to end
 * through the Worker (issue 14, finding 11), and /healthz plus the first
 * request's log say when ALLOWED_SERVICES leaves the server not production-ready.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import worker from "../src/index.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { ALLOWED_SERVICES_WARNING } from "../src/settings.ts";
import { AUTHENTICATION_FAILED } from "../src/token/handler.ts";
import type { Env } from "../src/env.ts";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";
import { captureConsole } from "./console-capture.ts";
import { healthz } from "./healthz.ts";

const A = "registry-a.test";
const B = "registry-b.test";
const ctx = { waitUntil: () => undefined, passThroughOnException: () => undefined, props: {} } as unknown as ExecutionContext;
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

let issuer: string;
let warnings: string[];
let logs: string[];

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  await putProviders([discoveryProvider("default-aud", issuer), discoveryProvider("two-registries", issuer, { audiences: [A, `https://${B}`] })]);
  ({ logs, warnings } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Status, and for a 401 the reason the log gives (the wire gives one reason for all: AUTHENTICATION_FAILED). */
async function token(provider: string, aud: string, service: string, patch: Partial<Env> = {}): Promise<{ status: number; reason?: string }> {
  const jwt = await mint(issuer, { sub: "repo:acme/app:ref:refs/heads/main", aud });
  const res = await worker.fetch(new Request(`http://token.test/token?service=${encodeURIComponent(service)}`, { headers: { Authorization: basic(provider, jwt) } }), { ...env, ...patch }, ctx);
  const body = (await res.json()) as { errors?: { detail?: { reason?: string } }[] };
  if (res.status !== 401) return { status: res.status };
  expect(body.errors?.[0]?.detail?.reason).toBe(AUTHENTICATION_FAILED.reason);
  const logged = (JSON.parse(logs.at(-1) ?? "{}") as { reason?: string }).reason;
  return { status: res.status, ...(logged !== undefined && { reason: /^identity:([a-z_]+):/.exec(logged)?.[1] ?? logged }) };
}

describe("the accepted audience follows the requested service", () => {
  it("refuses a token for registry A when it asks for service B, though the provider lists both", async () => {
    expect(await token("two-registries", A, A)).toEqual({ status: 200 });
    expect(await token("two-registries", `https://${B}`, B)).toEqual({ status: 200 });
    expect(await token("two-registries", A, B)).toEqual({ status: 401, reason: "wrong_audience" });
    expect(await token("two-registries", `https://${B}`, A)).toEqual({ status: 401, reason: "wrong_audience" });
    expect(await token("two-registries", A, B, { ALLOWED_SERVICES: `${A} ${B}` })).toEqual({ status: 401, reason: "wrong_audience" });
  });

  it("refuses a token for a listed registry when it asks for a service the provider lists no audience for", async () => {
    expect(await token("two-registries", A, "sigstore")).toEqual({ status: 401, reason: "wrong_audience" });
  });

  it("with ALLOWED_SERVICES set, a token minted for another relying party buys nothing", async () => {
    const allowed = { ALLOWED_SERVICES: A };
    expect(await token("default-aud", A, A, allowed)).toEqual({ status: 200 });
    expect(await token("default-aud", "sigstore", "sigstore", allowed)).toEqual({ status: 400 });
    expect(await token("default-aud", "sigstore", A, allowed)).toEqual({ status: 401, reason: "wrong_audience" });
  });
});

describe("production readiness", () => {
  const health = healthz;

  it("/healthz warns while ALLOWED_SERVICES is empty, and the first request logs it once", async () => {
    // A value no other test uses, so this isolate reads these settings afresh.
    const empty = { ALLOWED_SERVICES: " , " };
    expect(await health(empty)).toEqual({ ok: true, productionReady: false, warnings: [ALLOWED_SERVICES_WARNING] });
    await health(empty);
    expect(warnings.filter((w) => w.includes("not_production_ready")).map((w) => JSON.parse(w) as unknown)).toEqual([{ event: "not_production_ready", warnings: [ALLOWED_SERVICES_WARNING] }]);
  });

  it("/healthz is production-ready with ALLOWED_SERVICES set, and nothing is logged", async () => {
    expect(await health({ ALLOWED_SERVICES: `${A}, ${B}` })).toEqual({ ok: true, productionReady: true });
    expect(warnings.filter((w) => w.includes("not_production_ready"))).toEqual([]);
  });
});
