/**
 * With the default `refresh: auto` (no refresh input), a registry that can't be
 * reached fails the step, run from the shipped bundle as GitHub runs it: exit
 * code 1, an ::error:: line, no docker config written. The token server being
 * reachable (and handing out a refresh token) must not make the step green.
 */
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
import { startFakeTokenServer } from "@jwt-registry-auth/client/test/fake-registry";
import { startTestServer } from "@jwt-registry-auth/client/test/http-server";
import { DIST_DIR, runStep } from "./github-runner.ts";

let issuer: OidcIssuer;
let oidc: ActionsOidcEndpoint;
let bundle: string;
beforeAll(async () => {
  issuer = await startOidcIssuer();
  oidc = await startActionsOidcEndpoint(issuer);
  bundle = mkdtempSync(join(tmpdir(), "action-bundle-"));
  for (const file of ["main.mjs", "post.mjs"]) copyFileSync(join(DIST_DIR, file), join(bundle, file));
});
afterAll(async () => {
  await oidc.close();
  await issuer.close();
});

/** host:port where nothing listens (a server started and closed). */
async function deadHost(): Promise<string> {
  const gone = await startTestServer(() => ({ status: 200 }));
  await gone.close();
  return new URL(gone.url).host;
}

describe("default refresh (auto) and an unreachable registry", () => {
  it("fails the step, naming both URLs tried, and writes nothing", async () => {
    const host = await deadHost();
    const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
    const run = await runStep(join(bundle, "main.mjs"), { inputs: { registry: host, provider: "github" }, env: { ...oidc.env, DOCKER_CONFIG: dockerConfig } });
    expect(run.exitCode).toBe(1);
    expect(run.errors.join("\n")).toMatch(new RegExp(`cannot log in to ${host}: GET https://${host}/v2/ failed: .*, then GET http://${host}/v2/ failed: .*ECONNREFUSED`));
    expect(existsSync(join(dockerConfig, "config.json"))).toBe(false);
  }, 60_000);

  it("fails the step even when the token-server and service inputs reach a token server that grants a refresh token", async () => {
    const host = await deadHost();
    const refreshToken = await issuer.mint({ sub: "github/refresh" }, { expiresIn: 3600 });
    const tokenServer = await startFakeTokenServer({ refreshToken });
    try {
      const dockerConfig = mkdtempSync(join(tmpdir(), "action-docker-"));
      const run = await runStep(join(bundle, "main.mjs"), {
        inputs: { registry: `http://${host}`, provider: "github", "token-server": tokenServer.url, service: "test-registry" },
        env: { ...oidc.env, DOCKER_CONFIG: dockerConfig },
      });
      expect(run.exitCode).toBe(1);
      expect(run.errors.join("\n")).toMatch(new RegExp(`cannot check the login: GET http://${host}/v2/ failed`));
      expect(run.stdout.replace(/^::add-mask::.*$/gm, "")).not.toContain(refreshToken);
      expect(existsSync(join(dockerConfig, "config.json"))).toBe(false);
    } finally {
      await tokenServer.close();
    }
  }, 60_000); // the bundle retries connection failures with backoff, as in a real job
});
