/** A throwaway home for one helper run: helper.json, the cache and the docker/containers files all under a temp dir. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach } from "vitest";

export interface HelperEnv {
  readonly [name: string]: string;
  readonly HOME: string;
  readonly PATH: string;
  readonly JWT_REGISTRY_AUTH_HELPER_CONFIG: string;
  readonly XDG_CACHE_HOME: string;
  readonly DOCKER_CONFIG: string;
  readonly REGISTRY_AUTH_FILE: string;
}

export interface HelperHome {
  readonly dir: string;
  readonly configPath: string;
  readonly cacheDir: string;
  /** The environment the helper runs with: HOME, XDG dirs, DOCKER_CONFIG and REGISTRY_AUTH_FILE inside `dir`. */
  readonly env: HelperEnv;
  writeConfig(config: unknown): void;
}

/** `homePerTest()` in a test file: each call makes a new home, removed after the test. */
export function homePerTest(): () => HelperHome {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "cred-helper-"));
    dirs.push(dir);
    const configPath = join(dir, "helper.json");
    const env = {
      HOME: dir,
      PATH: process.env["PATH"] ?? "",
      JWT_REGISTRY_AUTH_HELPER_CONFIG: configPath,
      XDG_CACHE_HOME: join(dir, "cache"),
      DOCKER_CONFIG: join(dir, "docker"),
      REGISTRY_AUTH_FILE: join(dir, "containers", "auth.json"),
    };
    return { dir, configPath, cacheDir: join(dir, "cache", "jwt-registry-auth"), env, writeConfig: (config) => writeFileSync(configPath, JSON.stringify(config)) };
  };
}

/** An unsigned compact JWT with these claims: the helper only reads `exp`/`iat`, the fakes never verify. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.sig`;
}

/** A refresh token as the token server issues one: `iat` now (or `issuedAgo` seconds ago), `exp` after `lifetime` seconds. */
export function refreshTokenJwt(lifetime = 3600, issuedAgo = 0, extra: Record<string, unknown> = {}): string {
  const iat = Math.floor(Date.now() / 1000) - issuedAgo;
  return fakeJwt({ iat, exp: iat + lifetime, typ: "refresh", ...extra });
}

/** A loopback port nothing listens on (fetch refuses well-known ports such as 1 outright). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
