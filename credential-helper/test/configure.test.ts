import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { containersAuthPath } from "../src/configure.ts";
import { main } from "../src/main.ts";
import { homePerTest } from "./helper-env.ts";

const newHome = homePerTest();

async function run(env: Record<string, string>, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { env, readStdin: () => Promise.resolve(""), stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));

describe("configure", () => {
  it("adds credHelpers entries to docker's config.json and containers' auth.json, keeping every other entry", async () => {
    const home = newHome();
    const dockerConfig = join(home.env.DOCKER_CONFIG, "config.json");
    const authFile = home.env.REGISTRY_AUTH_FILE;
    for (const path of [dockerConfig, authFile]) mkdirSync(dirname(path), { recursive: true });
    const docker = { auths: { "other.example": { auth: "dXNlcjpwdw==" } }, credHelpers: { "gcr.io": "gcloud", "registry.example.com": "old-helper" }, proxies: { default: { httpProxy: "http://proxy:3128" } } };
    writeFileSync(dockerConfig, JSON.stringify(docker));
    writeFileSync(authFile, JSON.stringify({ auths: { "quay.io": { auth: "eDp5" } } }));

    const result = await run(home.env, ["configure", "registry.example.com", "127.0.0.1:5000"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`replaced another credential helper: ${dockerConfig}: registry.example.com (was old-helper)\n`);
    expect(readJson(dockerConfig)).toEqual({ ...docker, credHelpers: { "gcr.io": "gcloud", "registry.example.com": "jwt-registry-auth", "127.0.0.1:5000": "jwt-registry-auth" } });
    expect(readJson(authFile)).toEqual({ auths: { "quay.io": { auth: "eDp5" } }, credHelpers: { "registry.example.com": "jwt-registry-auth", "127.0.0.1:5000": "jwt-registry-auth" } });
    expect(statSync(dockerConfig).mode & 0o777).toBe(0o600);
    // Again: nothing changes.
    expect((await run(home.env, ["configure", "registry.example.com"])).stderr).toBe("");
  });

  it("creates missing files; refuses to overwrite a file that is not JSON, and a bad host", async () => {
    const home = newHome();
    expect((await run(home.env, ["configure", "registry.example.com"])).code).toBe(0);
    expect(readJson(join(home.env.DOCKER_CONFIG, "config.json"))).toEqual({ credHelpers: { "registry.example.com": "jwt-registry-auth" } });
    writeFileSync(home.env.REGISTRY_AUTH_FILE, "{ not json");
    const broken = await run(home.env, ["configure", "registry.example.com"]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/is not valid JSON/);
    expect(readFileSync(home.env.REGISTRY_AUTH_FILE, "utf8")).toBe("{ not json");
    expect((await run(home.env, ["configure", "registry.example.com/acme/app"])).stderr).toMatch(/expected a host\[:port\], not a path/);
    expect((await run(home.env, ["configure"])).stderr).toMatch(/name at least one registry/);
  });

  it("finds containers' auth file as containers-image does", () => {
    expect(containersAuthPath({ REGISTRY_AUTH_FILE: "/a.json", XDG_RUNTIME_DIR: "/run/user/1" }, "/home/u")).toBe("/a.json");
    expect(containersAuthPath({ XDG_RUNTIME_DIR: "/run/user/1" }, "/home/u")).toBe("/run/user/1/containers/auth.json");
    expect(containersAuthPath({}, "/home/u")).toBe("/home/u/.config/containers/auth.json");
  });
});
