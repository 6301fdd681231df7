/**
 * Docker-style credential files (`config.json` for the docker CLI, `auth.json`
 * for skopeo: same `auths` format) and the docker CLI, run without a daemon.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand, type CommandResult } from "./process.ts";
import { redactSecrets } from "./redact.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";

/** Basic credentials, or a refresh token as `docker login` stores it. */
export type RegistryCredential =
  | { readonly username: string; readonly password: string }
  | { readonly username: string; readonly identityToken: string };

export interface AuthEntry {
  readonly auth: string;
  readonly identitytoken?: string;
}

/**
 * The `auths` entry for one registry. An identity token also gets
 * `auth` = base64("username:"), as `docker login` writes it: skopeo 1.9
 * ignores an entry that holds only `identitytoken`.
 */
export function authEntry(credential: RegistryCredential): AuthEntry {
  if ("password" in credential) return { auth: Buffer.from(`${credential.username}:${credential.password}`).toString("base64") };
  return { auth: Buffer.from(`${credential.username}:`).toString("base64"), identitytoken: credential.identityToken };
}

/** Writes `{auths: {host: entry}}` (mode 0600) and returns the path. */
export function writeAuthFile(path: string, credentials: Readonly<Record<string, RegistryCredential>>): string {
  const auths = Object.fromEntries(Object.entries(credentials).map(([host, credential]) => [host, authEntry(credential)]));
  writeFileSync(path, `${JSON.stringify({ auths }, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export function readAuthFile(path: string): { auths: Record<string, Partial<AuthEntry>> } {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as { auths?: Record<string, Partial<AuthEntry>> };
  return { auths: parsed.auths ?? {} };
}

export interface DockerConfigDir {
  /** The directory to use as DOCKER_CONFIG. */
  readonly dir: string;
  /** `dir/config.json`, also usable as a skopeo `--authfile`. */
  readonly path: string;
  cleanup(): void;
}

/** A fresh DOCKER_CONFIG directory holding `config.json` with these credentials (none = empty). */
export function createDockerConfig(credentials: Readonly<Record<string, RegistryCredential>> = {}): DockerConfigDir {
  const dir = makeTempDir("docker-config");
  const path = writeAuthFile(join(dir, "config.json"), credentials);
  return { dir, path, cleanup: () => removeDir(dir) };
}

export interface DockerRunOptions {
  readonly configDir: string;
  readonly timeoutMs?: number;
  readonly input?: string;
}

/**
 * Runs the docker CLI against `configDir`. DOCKER_HOST points at a socket that
 * doesn't exist, so no daemon is ever used: `docker manifest` and `docker login`
 * then work client-side, as they do on a machine without dockerd.
 */
export async function runDocker(args: readonly string[], options: DockerRunOptions): Promise<CommandResult> {
  const socketDir = join(options.configDir, "no-daemon");
  mkdirSync(socketDir, { recursive: true });
  const result = await runCommand("docker", args, {
    env: {
      PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: options.configDir,
      DOCKER_CONFIG: options.configDir,
      DOCKER_HOST: `unix://${join(socketDir, "docker.sock")}`,
      DOCKER_CLI_HINTS: "false",
    },
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.input !== undefined && { input: options.input }),
  });
  return { ...result, stdout: redactSecrets(result.stdout), stderr: redactSecrets(result.stderr) };
}

/** `docker manifest inspect --insecure REF` (loopback registries speak plain HTTP). */
export function dockerManifestInspect(reference: string, options: DockerRunOptions): Promise<CommandResult> {
  return runDocker(["manifest", "inspect", "--insecure", reference], options);
}

/** `docker login HOST -u USER --password-stdin`: the password never appears in argv. */
export function dockerLogin(host: string, credential: { username: string; password: string }, options: Omit<DockerRunOptions, "input">): Promise<CommandResult> {
  return runDocker(["login", host, "--username", credential.username, "--password-stdin"], { ...options, input: credential.password });
}
