/**
 * Logging in and out by editing the docker config file directly, as `docker
 * login` does when there is no credential store: no daemon needed. Everything
 * the file holds besides our one `auths` entry is kept as it was; the file is
 * replaced atomically (temp file + rename) with mode 0600, and a file that is
 * not valid JSON is never overwritten.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Env } from "./env.ts";

/** One `auths` entry as `docker login` writes it. */
export interface DockerAuthEntry {
  /** base64(`user:password`), or base64(`user:`) beside an identity token. */
  readonly auth: string;
  /** An OAuth2 refresh token, which docker, buildx and skopeo trade for registry tokens. */
  readonly identitytoken?: string;
}

type JsonObject = Record<string, unknown>;

export class DockerConfigError extends Error {
  override readonly name = "DockerConfigError";
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: where docker and buildx look. */
export function dockerConfigPath(env: Env, home: string = homedir()): string {
  const dir = env["DOCKER_CONFIG"];
  return join(dir !== undefined && dir !== "" ? dir : join(home, ".docker"), "config.json");
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The workload JWT itself as the password: valid until the JWT expires. */
export function passwordEntry(provider: string, jwt: string): DockerAuthEntry {
  return { auth: base64(`${provider}:${jwt}`) };
}

/** A refresh token as `docker login` stores it; skopeo 1.9 ignores the entry unless `auth` is present too. */
export function identityTokenEntry(provider: string, refreshToken: string): DockerAuthEntry {
  return { auth: base64(`${provider}:`), identitytoken: refreshToken };
}

/**
 * What the post step compares to know the entry is still the one main wrote.
 * A hash, so the state passed between steps holds no credential.
 */
export function entryFingerprint(entry: { readonly auth?: unknown; readonly identitytoken?: unknown }): string {
  const field = (value: unknown): string => (typeof value === "string" ? value : "");
  return createHash("sha256").update(`${field(entry.auth)}\n${field(entry.identitytoken)}`).digest("hex");
}

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DockerConfigError(`cannot read docker config ${path}: ${(error as Error).message}`);
  }
}

/** The parsed config; `{}` when the file is missing or empty (as docker treats it). */
export function readDockerConfig(path: string): JsonObject {
  const text = readText(path);
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DockerConfigError(`docker config ${path} is not valid JSON (${(error as Error).message}); fix or remove it, it was not modified`);
  }
  if (!isObject(parsed)) throw new DockerConfigError(`docker config ${path} must hold a JSON object; fix or remove it, it was not modified`);
  if (parsed["auths"] !== undefined && !isObject(parsed["auths"])) {
    throw new DockerConfigError(`docker config ${path}: "auths" must be an object; fix or remove it, it was not modified`);
  }
  return parsed;
}

/** Writes beside the target and renames over it, so a reader never sees half a file; follows a symlinked config as docker does. */
export function writeDockerConfig(path: string, config: JsonObject): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      fchmodSync(fd, 0o600); // the create mode is subject to the umask; make the result exact
      writeSync(fd, JSON.stringify(config, null, "\t"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new DockerConfigError(`cannot write docker config ${target}: ${(error as Error).message}`);
  }
}

export interface LoginResult {
  /** An entry for this registry existed and was replaced. */
  readonly replaced: boolean;
  /** A credential helper or store docker will ask instead of reading our entry. */
  readonly shadowedBy?: string;
}

/** The helper docker consults instead of `auths` for this host, if any. */
function credentialHelperFor(config: JsonObject, host: string): string | undefined {
  const helpers = config["credHelpers"];
  if (isObject(helpers) && typeof helpers[host] === "string") return `credHelpers["${host}"] = ${helpers[host]}`;
  if (typeof config["credsStore"] === "string" && config["credsStore"] !== "") return `credsStore = ${config["credsStore"]}`;
  return undefined;
}

export function addLogin(path: string, host: string, entry: DockerAuthEntry): LoginResult {
  const config = readDockerConfig(path);
  const auths = (config["auths"] as JsonObject | undefined) ?? {};
  const replaced = auths[host] !== undefined;
  writeDockerConfig(path, { ...config, auths: { ...auths, [host]: entry } });
  const shadowedBy = credentialHelperFor(config, host);
  return { replaced, ...(shadowedBy !== undefined && { shadowedBy }) };
}

/** `removed`: our entry is gone; `absent`: nothing to remove; `changed`: someone replaced it since, so it was left alone. */
export type LogoutResult = "removed" | "absent" | "changed";

export function removeLogin(path: string, host: string, fingerprint: string): LogoutResult {
  const config = readDockerConfig(path);
  const auths = config["auths"] as JsonObject | undefined;
  const entry = auths?.[host];
  if (auths === undefined || entry === undefined) return "absent";
  if (!isObject(entry) || entryFingerprint(entry) !== fingerprint) return "changed";
  const { [host]: _removed, ...rest } = auths;
  writeDockerConfig(path, { ...config, auths: rest });
  return "removed";
}

/** `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`, as containers-image looks. */
export function containersAuthPath(env: Env, home: string = homedir()): string {
  if (env["REGISTRY_AUTH_FILE"]) return env["REGISTRY_AUTH_FILE"];
  if (env["XDG_RUNTIME_DIR"]) return join(env["XDG_RUNTIME_DIR"], "containers", "auth.json");
  return join(home, ".config", "containers", "auth.json");
}

/** The files a credential helper is configured in: docker's config.json and containers' auth.json (once if they are the same file). */
export function credentialHelperFiles(env: Env, home: string = homedir()): string[] {
  return [...new Set([dockerConfigPath(env, home), containersAuthPath(env, home)])];
}

/** The `credHelpers` value docker turns into `docker-credential-<name>`. */
export const CREDENTIAL_HELPER_NAME = "jwt-registry-auth";

export interface CredentialHelperResult {
  /** The helper `credHelpers[host]` named before, when it was another one. */
  readonly replaced?: string;
  /** The entry was already there: the file was not rewritten. */
  readonly unchanged: boolean;
}

/**
 * Points `credHelpers[host]` at a credential helper, in docker's config.json
 * or containers' auth.json (same format): every other key and entry is kept,
 * the file is replaced atomically, and a file that is not valid JSON is never
 * overwritten.
 */
export function addCredentialHelper(path: string, host: string, helper: string = CREDENTIAL_HELPER_NAME): CredentialHelperResult {
  const config = readDockerConfig(path);
  const helpers = config["credHelpers"] ?? {};
  if (!isObject(helpers)) throw new DockerConfigError(`${path}: "credHelpers" must be an object; fix or remove it, it was not modified`);
  const before = helpers[host];
  if (before === helper) return { unchanged: true };
  writeDockerConfig(path, { ...config, credHelpers: { ...helpers, [host]: helper } });
  return { unchanged: false, ...(typeof before === "string" && { replaced: before }) };
}

/**
 * Undoes {@link addCredentialHelper}: while `credHelpers[host]` still names
 * `helper`, it is removed (or set back to `previous`, the helper it replaced);
 * `changed` when someone pointed it elsewhere since, and it was left alone.
 */
export function removeCredentialHelper(path: string, host: string, previous?: string, helper: string = CREDENTIAL_HELPER_NAME): LogoutResult {
  const config = readDockerConfig(path);
  const helpers = config["credHelpers"];
  if (!isObject(helpers) || helpers[host] === undefined) return "absent";
  if (helpers[host] !== helper) return "changed";
  const { [host]: _removed, ...rest } = helpers;
  const credHelpers = previous !== undefined ? { ...rest, [host]: previous } : rest;
  const { credHelpers: _old, ...others } = config;
  writeDockerConfig(path, Object.keys(credHelpers).length > 0 ? { ...others, credHelpers } : others);
  return "removed";
}
