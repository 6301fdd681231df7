/**
 * Every token_request log line ties the request to what decided it and what it
 * issued: the request id (also in X-Request-Id and every error body), the
 * policy version (`policy history`), and the issued registry token's `jti`.
 */
import { env, SELF } from "cloudflare:test";
import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { discoveryProvider, freshIssuer, mint, putProviders } from "./providers.ts";
import { resetPolicyCache } from "../src/policy/store.ts";
import { captureConsole } from "./console-capture.ts";

const SERVICE = "registry.test";
let issuer: string;
let logs: string[];

const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;
const tokenGet = (auth: string) => SELF.fetch(`http://token.test/token?service=${SERVICE}&scope=repository:acme/app:pull`, { headers: { Authorization: auth } });
const lastLine = () => JSON.parse(logs.filter((l) => l.includes('"token_request"')).at(-1) ?? "{}") as Record<string, unknown>;
const policyVersion = async () => (await env.POLICY_DB.prepare("SELECT version FROM policy_version WHERE id = 1").first<{ version: number }>())?.version;

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  await putProviders([discoveryProvider("gha", issuer, { authn: 'claims.repository_owner_id == "1234"' })]);
  ({ logs } = captureConsole());
});

afterEach(() => vi.restoreAllMocks());

describe("the token_request log line traces each request", () => {
  it("names the request id, the policy version that decided, and the issued token's jti", async () => {
    const jwt = await mint(issuer, { sub: "repo:acme/app", aud: `https://${SERVICE}`, repository_owner_id: "1234" });
    const res = await tokenGet(basic("gha", jwt));
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { token: string }).token;
    const line = lastLine();
    expect(line["requestId"]).toBe(res.headers.get("X-Request-Id"));
    expect(line["policyVersion"]).toBe(await policyVersion());
    expect(line["jti"]).toBe(decodeJwt(token).jti);
  });

  it("on a refusal, names the request id the client got in its error body and the policy version, and no jti", async () => {
    const jwt = await mint(issuer, { sub: "repo:acme/app", aud: `https://${SERVICE}`, repository_owner_id: "999" });
    const res = await tokenGet(basic("gha", jwt));
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: { detail: { requestId: string } }[] };
    const line = lastLine();
    expect(line["requestId"]).toBe(body.errors[0]?.detail.requestId);
    expect(line["policyVersion"]).toBe(await policyVersion());
    expect(line).not.toHaveProperty("jti");
  });

  it("an unknown provider still names the version that had no such provider", async () => {
    const res = await tokenGet(basic("nobody", await mint(issuer, { sub: "x", aud: `https://${SERVICE}` })));
    expect(res.status).toBe(401);
    expect(lastLine()["policyVersion"]).toBe(await policyVersion());
  });
});
