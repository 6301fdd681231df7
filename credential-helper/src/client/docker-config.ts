/**
 * Logging in and out by editing the docker config file directly, as `docker
 * login` does when there is no credential store: no daemon needed. Everything
 * the file holds besides our one `auths` or `credHelpers` entry is kept as it
 * was (see json-file.ts for how the file is written). containers' auth.json
 * (podman, skopeo, buildah) has the same format.
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Env } from "./env.ts";
import { isJsonObject as isObject, JsonFileError, readJsonObject, writeJsonObject, type JsonObject } from "./json-file.ts";

/** One `auths` entry as `docker login` writes it. */
export interface DockerAuthEntry {
  /** base64(`user:password`), or base64(`user:`) beside an identity token. */
  readonly auth: string;
  /** An OAuth2 refresh token, which docker, buildx and skopeo trade for registry tokens. */
  readonly identitytoken?: string;
}

/** Every docker config failure, whether the file's content or the file system is at fault. */
export const DockerConfigError = JsonFileError;

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

/** The parsed config; `{}` when the file is missing or empty (as docker treats it). */
export function readDockerConfig(path: string): JsonObject {
  const config = readJsonObject(path, "docker config");
  for (const key of ["auths", "credHelpers"]) {
    if (config[key] !== undefined && !isObject(config[key])) throw new DockerConfigError(`docker config ${path}: "${key}" must be an object; fix or remove it, it was not modified`);
  }
  return config;
}

export function writeDockerConfig(path: string, config: JsonObject): void {
  writeJsonObject(path, config, "docker config");
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

/** The `credHelpers` value that names this project's helper (`docker-credential-jwt-registry-auth`). */
export const HELPER_NAME = "jwt-registry-auth";

/** Points `credHelpers[host]` at `helper`; `replaced` names what it pointed at before, if anything else. */
export function addCredentialHelper(path: string, host: string, helper: string = HELPER_NAME): { readonly replaced?: string } {
  const config = readDockerConfig(path);
  const helpers = (config["credHelpers"] as JsonObject | undefined) ?? {};
  const before = helpers[host];
  writeDockerConfig(path, { ...config, credHelpers: { ...helpers, [host]: helper } });
  return typeof before === "string" && before !== helper ? { replaced: before } : {};
}

/** Removes `credHelpers[host]` only while it still names `helper`. */
export function removeCredentialHelper(path: string, host: string, helper: string = HELPER_NAME): LogoutResult {
  const config = readDockerConfig(path);
  const helpers = config["credHelpers"] as JsonObject | undefined;
  if (helpers === undefined || helpers[host] === undefined) return "absent";
  if (helpers[host] !== helper) return "changed";
  const { [host]: _removed, ...rest } = helpers;
  writeDockerConfig(path, { ...config, credHelpers: rest });
  return "removed";
}
