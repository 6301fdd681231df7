/**
 * `get` end to end in-process, against a loopback registry that answers /v2/
 * with a Bearer challenge and a fake token server, once per token source, and
 * the cache: a hit asks nothing, a token close to expiry is re-minted.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "@jwt-registry-auth/testkit/oidc-issuer";
import { startActionsOidcEndpoint, type ActionsOidcEndpoint } from "@jwt-registry-auth/client/test/actions-oidc-endpoint";
import { startFakeRegistry, type FakeRegistry } from "@jwt-registry-auth/client/test/fake-registry";
import type { RecordedRequest } from "@jwt-registry-auth/client/test/http-server";
import { main } from "../src/main.ts";
import { closedPort, fakeJwt, homePerTest, refreshTokenJwt, type HelperHome } from "./helper-env.ts";

const newHome = homePerTest();
const noRetry = { attempts: 1 };
const workloadJwt = fakeJwt({ iss: "https://ci.example", sub: "job-1", aud: "test-registry", exp: Math.floor(Date.now() / 1000) + 300 });
const REFRESH = refreshTokenJwt(3600);

let issuer: OidcIssuer;
let actions: ActionsOidcEndpoint;
beforeAll(async () => {
  issuer = await startOidcIssuer();
  actions = await startActionsOidcEndpoint(issuer, { github: { owner: "acme", ownerId: "424242" } });
});
afterAll(async () => {
  await actions.close();
  await issuer.close();
});

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});
async function registry(): Promise<FakeRegistry> {
  const r = await startFakeRegistry({ refreshToken: REFRESH, service: "test-registry" });
  registries.push(r);
  return r;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(home: HelperHome, argv: string[], stdin: string, env: Record<string, string> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    env: { ...home.env, ...env },
    home: home.dir,
    readStdin: () => Promise.resolve(stdin),
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    retry: noRetry,
  });
  return { code, stdout, stderr };
}

const tokenRequests = (r: FakeRegistry): RecordedRequest[] => r.requests.filter((q) => q.url.pathname === "/token");
/** The workload token a token request carried as the Basic password. */
const basicPassword = (request: RecordedRequest): string => Buffer.from((request.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8").split(":").slice(1).join(":");

describe("get, once per token source", () => {
  it("file: reads the token file, trades it for a refresh token and answers it as an identity token", async () => {
    const r = await registry();
    const home = newHome();
    const tokenFile = join(home.dir, "token");
    writeFileSync(tokenFile, `${workloadJwt}\n`);
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { file: tokenFile } } } });
    const result = await run(home, ["get"], `${r.host}\n`);
    expect(result).toEqual({ code: 0, stdout: `${JSON.stringify({ ServerURL: r.host, Username: "<token>", Secret: REFRESH })}\n`, stderr: "" });
    const [request] = tokenRequests(r);
    expect(request?.url.searchParams.get("offline_token")).toBe("true");
    expect(request?.url.searchParams.get("service")).toBe("test-registry");
    expect(request?.url.searchParams.get("account")).toBe("ci");
    expect(request?.url.searchParams.get("client_id")).toBe("docker-credential-jwt-registry-auth");
    expect(basicPassword(request as RecordedRequest)).toBe(workloadJwt);
  });

  it("env: reads the named environment variable", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "gitlab", token: { env: "REGISTRY_ID_TOKEN" } } } });
    const result = await run(home, ["get"], r.host, { REGISTRY_ID_TOKEN: workloadJwt });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ServerURL: r.host, Username: "<token>", Secret: REFRESH });
    expect(basicPassword(tokenRequests(r)[0] as RecordedRequest)).toBe(workloadJwt);
  });

  it("command: runs the argv without a shell and reads its stdout", async () => {
    const r = await registry();
    const home = newHome();
    const argv = [process.execPath, "-e", `process.stdout.write(${JSON.stringify(workloadJwt)} + "\\n")`];
    home.writeConfig({ registries: { [r.host]: { provider: "buildkite", token: { command: argv } } } });
    const result = await run(home, ["get"], r.host);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ Secret: REFRESH });
    expect(basicPassword(tokenRequests(r)[0] as RecordedRequest)).toBe(workloadJwt);
  });

  it("github: requests the job's OIDC token for the configured audience (default: the challenge's service)", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "gha", token: { github: {} } } } });
    const result = await run(home, ["get"], r.host, actions.env);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ Secret: REFRESH });
    expect(actions.audiences.at(-1)).toBe("test-registry");
    expect(basicPassword(tokenRequests(r)[0] as RecordedRequest)).toBe(actions.issued.at(-1));

    const other = newHome();
    other.writeConfig({ registries: { [r.host]: { provider: "gha", token: { github: { audience: "custom-aud" } } } } });
    expect((await run(other, ["get"], r.host, actions.env)).code).toBe(0);
    expect(actions.audiences.at(-1)).toBe("custom-aud");
  });

  it("detects GitHub Actions when no token source is configured", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "gha" } } });
    expect((await run(home, ["get"], r.host, actions.env)).code).toBe(0);
    expect(actions.audiences.at(-1)).toBe("test-registry");
  });

  it("takes one registry from JWT_REGISTRY_AUTH_* variables, without a config file", async () => {
    const r = await registry();
    const home = newHome();
    const vars = { JWT_REGISTRY_AUTH_REGISTRY: r.host, JWT_REGISTRY_AUTH_PROVIDER: "gitlab", JWT_REGISTRY_AUTH_TOKEN_ENV: "CI_JOB_JWT", CI_JOB_JWT: workloadJwt };
    const result = await run(home, ["get"], r.host, vars);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ Secret: REFRESH });
    expect(tokenRequests(r)[0]?.url.searchParams.get("account")).toBe("gitlab");
    expect((await run(home, ["get"], r.host, { ...vars, JWT_REGISTRY_AUTH_TOKEN_FILE: "/x" })).stderr).toMatch(/set only one of/);
  });

  it("with tokenServer and service configured, does not ask the registry", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { "registry.invalid:5000": { provider: "ci", token: { env: "T" }, tokenServer: r.tokenServer.tokenUrl, service: "test-registry" } } });
    const result = await run(home, ["get"], "registry.invalid:5000", { T: workloadJwt });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ ServerURL: "registry.invalid:5000", Secret: REFRESH });
    expect(r.requests.map((q) => q.url.pathname)).toEqual(["/token"]);
  });
});

describe("the refresh-token cache", () => {
  it("answers a second get from the cache without any request, from a 0600 file", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { env: "T" } } } });
    const first = await run(home, ["get"], r.host, { T: workloadJwt });
    const requestsAfterMint = r.requests.length;
    expect(tokenRequests(r)).toHaveLength(1);
    const second = await run(home, ["get"], r.host, { T: "" }); // the workload token is not even needed
    expect(second).toEqual(first);
    expect(r.requests).toHaveLength(requestsAfterMint);
    const file = join(home.cacheDir, `${encodeURIComponent(r.host)}@ci.json`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ refreshToken: REFRESH, service: "test-registry" });
  });

  it.each([
    ["4 minutes left of 1 hour", 3600, 3600 - 240],
    ["5 minutes left of 2 hours (under 10%)", 7200, 7200 - 300],
  ])("re-mints a cached token with %s", async (_what, lifetime, issuedAgo) => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { env: "T" } } } });
    const old = refreshTokenJwt(lifetime, issuedAgo);
    const iat = Math.floor(Date.now() / 1000) - issuedAgo;
    mkdirSync(home.cacheDir, { recursive: true });
    writeFileSync(join(home.cacheDir, `${encodeURIComponent(r.host)}@ci.json`), JSON.stringify({ refreshToken: old, issuedAt: iat, expiresAt: iat + lifetime, service: "test-registry" }));
    const result = await run(home, ["get"], r.host, { T: workloadJwt });
    expect(JSON.parse(result.stdout)).toMatchObject({ Secret: REFRESH });
    expect(tokenRequests(r)).toHaveLength(1);
  });

  it("keeps a cached token with 20 minutes left of 1 hour", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { env: "T" } } } });
    const cached = refreshTokenJwt(3600, 2400);
    const iat = Math.floor(Date.now() / 1000) - 2400;
    mkdirSync(home.cacheDir, { recursive: true });
    writeFileSync(join(home.cacheDir, `${encodeURIComponent(r.host)}@ci.json`), JSON.stringify({ refreshToken: cached, issuedAt: iat, expiresAt: iat + 3600, service: "test-registry" }));
    const result = await run(home, ["get"], r.host, { T: workloadJwt });
    expect(JSON.parse(result.stdout)).toMatchObject({ Secret: cached });
    expect(r.requests).toHaveLength(0);
  });

  it("erase forgets the cached token; list names the configured registries", async () => {
    const r = await registry();
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { env: "T" } }, "other.example": { provider: "x", token: { env: "U" } } } });
    await run(home, ["get"], r.host, { T: workloadJwt });
    expect(await run(home, ["erase"], r.host)).toEqual({ code: 0, stdout: "", stderr: "" });
    await run(home, ["get"], r.host, { T: workloadJwt });
    expect(tokenRequests(r)).toHaveLength(2);
    expect(JSON.parse((await run(home, ["list"], "")).stdout)).toEqual({ [r.host]: "<token>", "other.example": "<token>" });
    expect(await run(home, ["store"], JSON.stringify({ ServerURL: r.host, Username: "u", Secret: "s" }))).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});

describe("failures: non-zero exit, nothing on stdout, one line on stderr", () => {
  const oneLine = (result: Run, pattern: RegExp) => {
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^docker-credential-jwt-registry-auth: /);
    expect(result.stderr).toMatch(pattern);
  };

  it("junk on stdin", async () => {
    const home = newHome();
    home.writeConfig({ registries: {} });
    oneLine(await run(home, ["get"], "\u0000\u0001 {not json at all}\n"), /stdin/);
    oneLine(await run(home, ["get"], ""), /expected a registry server URL on stdin/);
    oneLine(await run(home, ["get"], "ftp://registry.example"), /only http\(s\)/);
  });

  it("an unknown server URL", async () => {
    const home = newHome();
    home.writeConfig({ registries: { "registry.example.com": { provider: "ci", token: { env: "T" } } } });
    oneLine(await run(home, ["get"], "other.example.com"), /credentials not found for other\.example\.com: it is not in the helper config \(configured: registry\.example\.com\)/);
  });

  it("an unreachable token server", async () => {
    const home = newHome();
    const port = await closedPort();
    home.writeConfig({ registries: { "registry.example.com": { provider: "ci", token: { env: "T" }, tokenServer: `http://127.0.0.1:${port}/token`, service: "svc" } } });
    oneLine(await run(home, ["get"], "registry.example.com", { T: workloadJwt }), new RegExp(`cannot reach the token server: http://127\\.0\\.0\\.1:${port}/token: .*ECONNREFUSED`));
  });

  it("a token source that gives no token, and a malformed config", async () => {
    const home = newHome();
    home.writeConfig({ registries: { "registry.example.com": { provider: "ci", token: { env: "T" }, tokenServer: "http://127.0.0.1:1/token", service: "svc" } } });
    oneLine(await run(home, ["get"], "registry.example.com"), /environment variable T is not set or empty/);
    oneLine(await run(home, ["get"], "registry.example.com", { T: "not-a-jwt" }), /the token from environment variable T is not a JWT/);
    home.writeConfig({ registries: { "registry.example.com": { provider: "ci", token: { env: "T" }, tokn: 1 } } });
    oneLine(await run(home, ["get"], "registry.example.com"), /unknown key "tokn"/);
  });

  it("never prints the workload token when the token server refuses it", async () => {
    const r = await startFakeRegistry({ service: "test-registry" });
    registries.push(r);
    const home = newHome();
    home.writeConfig({ registries: { [r.host]: { provider: "ci", token: { env: "T" } } } });
    const result = await run(home, ["get"], r.host, { T: workloadJwt });
    oneLine(result, /gave no refresh token for provider "ci"/);
    expect(result.stderr).not.toContain(workloadJwt);
  });
});
