/**
 * The bundled bin, run as docker runs a credential helper: plain `node`, from
 * a directory outside the repository, server URL on stdin.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeRegistry, type FakeRegistry } from "@jwt-registry-auth/client/test/fake-registry";
import { closedPort, fakeJwt, homePerTest, refreshTokenJwt } from "./helper-env.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const newHome = homePerTest();
let outDir: string;
let bin: string;
let registry: FakeRegistry;
const REFRESH = refreshTokenJwt(3600);
const workloadJwt = fakeJwt({ sub: "job", exp: Math.floor(Date.now() / 1000) + 300 });

beforeAll(async () => {
  // Outside the repository: nothing to resolve imports from but the bundle itself.
  outDir = mkdtempSync(join(tmpdir(), "cred-helper-bundle-"));
  bin = join(outDir, "docker-credential-jwt-registry-auth.mjs");
  await promisify(execFile)(process.execPath, [join(ROOT, "build.mjs"), bin]);
  registry = await startFakeRegistry({ refreshToken: REFRESH, service: "test-registry" });
});
afterAll(async () => {
  await registry.close();
  rmSync(outDir, { recursive: true, force: true });
});

function runBin(bin: string, args: string[], stdin: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd: tmpdir(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe("the bundled docker-credential-jwt-registry-auth", () => {
  it("is one executable file that runs with plain node: get mints, then answers from the cache", async () => {
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const home = newHome();
    home.writeConfig({ registries: { [registry.host]: { provider: "ci", token: { env: "T" } } } });
    const env = { ...home.env, T: workloadJwt };
    const first = await runBin(bin, ["get"], `${registry.host}\n`, env);
    expect(first).toEqual({ code: 0, stdout: `${JSON.stringify({ ServerURL: registry.host, Username: "<token>", Secret: REFRESH })}\n`, stderr: "" });
    const tokenRequests = registry.requests.filter((r) => r.url.pathname === "/token").length;
    expect(await runBin(bin, ["get"], registry.host, env)).toEqual(first);
    expect(registry.requests.filter((r) => r.url.pathname === "/token")).toHaveLength(tokenRequests);
  });

  it("junk on stdin, an unknown server URL, an unreachable token server: exit 1, empty stdout, one stderr line", async () => {
    const home = newHome();
    const port = await closedPort();
    home.writeConfig({ registries: { "registry.example.com": { provider: "ci", token: { env: "T" }, tokenServer: `http://127.0.0.1:${port}/token`, service: "svc" } } });
    const env = { ...home.env, T: workloadJwt };
    const cases: [string, RegExp][] = [
      ["line one\nline two\n", /expected one registry server URL on stdin/],
      ["unknown.example.com", /credentials not found for unknown\.example\.com/],
      ["registry.example.com", /cannot reach the token server: .*ECONNREFUSED/],
    ];
    for (const [stdin, pattern] of cases) {
      const result = await runBin(bin, ["get"], stdin, env);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });

  it("configure writes the credHelpers entries", async () => {
    const home = newHome();
    const result = await runBin(bin, ["configure", registry.host], "", home.env);
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(home.env.REGISTRY_AUTH_FILE, "utf8"))).toEqual({ credHelpers: { [registry.host]: "jwt-registry-auth" } });
  });
});
