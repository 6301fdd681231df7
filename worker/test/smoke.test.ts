import { env, SELF } from "cloudflare:test";
import { inject, it, expect } from "vitest";

it("reaches the loopback issuer and D1 from inside workerd", async () => {
  const res = await fetch(`${inject("githubIssuer")}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  const row = await env.POLICY_DB.prepare("SELECT version FROM policy_version").first<{ version: number }>();
  expect(row?.version).toBe(0);
  expect((await SELF.fetch("http://x/healthz")).status).toBe(200);
});
