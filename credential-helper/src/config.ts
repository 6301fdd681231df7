/**
 * The helper's per-registry settings: `$JWT_REGISTRY_AUTH_HELPER_CONFIG`, else
 * `${XDG_CONFIG_HOME:-$HOME/.config}/jwt-registry-auth/helper.json`:
 *
 *   { "registries": { "registry.example.com": {
 *       "provider": "gitlab", "token": { "env": "REGISTRY_ID_TOKEN" },
 *       "tokenServer": "https://auth.example.com/token", "service": "registry.example.com" } },
 *     "cacheDir": "/optional/override" }
 *
 * plus one registry from environment variables (JWT_REGISTRY_AUTH_REGISTRY,
 * _PROVIDER, _TOKEN_ENV | _TOKEN_FILE | _TOKEN_COMMAND (a JSON array) |
 * _GITHUB_AUDIENCE, _TOKEN_SERVER, _SERVICE), which wins over the file for
 * that registry. Unknown keys and wrong types are errors: a typo must not
 * silently become "use the defaults".
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { Env } from "@jwt-registry-auth/client/env";
import { AddressError, parseRegistryAddress } from "@jwt-registry-auth/client/registry-address";
import { isJsonObject, readJsonObject, type JsonObject } from "./json-file.ts";

/** Where the workload token comes from; absent in the config means "detect the CI" (token-source.ts). */
export type TokenSource =
  | { readonly kind: "github"; readonly audience?: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "command"; readonly argv: readonly string[] };

export interface RegistryConfig {
  /** The token server provider name: the Basic username of the token request. */
  readonly provider: string;
  readonly token?: TokenSource;
  readonly tokenServer?: URL;
  readonly service?: string;
}

export interface HelperConfig {
  /** Keyed by `host[:port]`, as docker names the registry to the helper. */
  readonly registries: ReadonlyMap<string, RegistryConfig>;
  readonly cacheDir?: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function helperConfigPath(env: Env, home: string = homedir()): string {
  const explicit = env["JWT_REGISTRY_AUTH_HELPER_CONFIG"];
  if (explicit !== undefined && explicit !== "") return explicit;
  const base = env["XDG_CONFIG_HOME"] !== undefined && env["XDG_CONFIG_HOME"] !== "" ? env["XDG_CONFIG_HOME"] : join(home, ".config");
  return join(base, "jwt-registry-auth", "helper.json");
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function text(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "" || CONTROL.test(value)) throw new ConfigError(`${where} must be a non-empty string without control characters`);
  return value;
}

function onlyKeys(object: JsonObject, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(object).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new ConfigError(`${where}: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (allowed: ${allowed.join(", ")})`);
}

export function parseTokenSource(value: unknown, where: string): TokenSource {
  if (!isJsonObject(value)) throw new ConfigError(`${where} must be an object: {"github": {…}}, {"file": "/path"}, {"env": "NAME"} or {"command": ["prog", "arg"]}`);
  const keys = Object.keys(value);
  if (keys.length !== 1) throw new ConfigError(`${where} must have exactly one of github, file, env, command`);
  const kind = keys[0] as string;
  const body = value[kind];
  switch (kind) {
    case "github": {
      if (!isJsonObject(body)) throw new ConfigError(`${where}.github must be an object ({} or {"audience": "…"})`);
      onlyKeys(body, ["audience"], `${where}.github`);
      return body["audience"] === undefined ? { kind: "github" } : { kind: "github", audience: text(body["audience"], `${where}.github.audience`) };
    }
    case "file":
      return { kind: "file", path: text(body, `${where}.file`) };
    case "env": {
      const name = text(body, `${where}.env`);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`${where}.env must be an environment variable name`);
      return { kind: "env", name };
    }
    case "command": {
      if (!Array.isArray(body) || body.length === 0) throw new ConfigError(`${where}.command must be a non-empty array: the program and its arguments (no shell)`);
      return { kind: "command", argv: body.map((arg, i) => text(arg, `${where}.command[${i}]`)) };
    }
    default:
      throw new ConfigError(`${where}: unknown token source "${kind}" (one of github, file, env, command)`);
  }
}

function parseUrl(value: unknown, where: string): URL {
  let url: URL;
  try {
    url = new URL(text(value, where));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${where} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`${where} must be an http(s) URL`);
  if (url.username !== "" || url.password !== "" || url.hash !== "") throw new ConfigError(`${where} must not carry credentials or a fragment`);
  // A bare origin means the token server's standard endpoint.
  if (url.pathname === "/") url.pathname = "/token";
  return url;
}

function parseProvider(value: unknown, where: string): string {
  const provider = text(value, where);
  // It is the Basic-auth username: a colon would split it.
  if (provider.includes(":")) throw new ConfigError(`${where} must not contain ':'`);
  return provider;
}

function registryHost(value: string, where: string): string {
  if (value.includes("://")) throw new ConfigError(`${where}: name the registry as host[:port], as in image names, without a scheme`);
  try {
    return parseRegistryAddress(value).host;
  } catch (error) {
    if (error instanceof AddressError) throw new ConfigError(`${where}: ${error.message}`);
    throw error;
  }
}

export function parseRegistryConfig(value: unknown, where: string): RegistryConfig {
  if (!isJsonObject(value)) throw new ConfigError(`${where} must be an object`);
  onlyKeys(value, ["provider", "token", "tokenServer", "service"], where);
  return {
    provider: parseProvider(value["provider"], `${where}.provider`),
    ...(value["token"] !== undefined && { token: parseTokenSource(value["token"], `${where}.token`) }),
    ...(value["tokenServer"] !== undefined && { tokenServer: parseUrl(value["tokenServer"], `${where}.tokenServer`) }),
    ...(value["service"] !== undefined && { service: text(value["service"], `${where}.service`) }),
  };
}

export function parseHelperConfig(value: JsonObject, source: string): HelperConfig {
  onlyKeys(value, ["registries", "cacheDir"], source);
  const raw = value["registries"] ?? {};
  if (!isJsonObject(raw)) throw new ConfigError(`${source}: "registries" must be an object keyed by registry host`);
  const registries = new Map<string, RegistryConfig>();
  for (const [host, entry] of Object.entries(raw)) {
    const where = `${source}: registries["${host}"]`;
    registries.set(registryHost(host, where), parseRegistryConfig(entry, where));
  }
  return { registries, ...(value["cacheDir"] !== undefined && { cacheDir: text(value["cacheDir"], `${source}: cacheDir`) }) };
}

const ENV_PREFIX = "JWT_REGISTRY_AUTH_";
const envValue = (env: Env, name: string): string | undefined => {
  const value = env[`${ENV_PREFIX}${name}`];
  return value === undefined || value === "" ? undefined : value;
};

/** The one registry the environment variables describe, as the same JSON the file holds. */
function registryFromEnv(env: Env): [string, JsonObject] | undefined {
  const registry = envValue(env, "REGISTRY");
  if (registry === undefined) return undefined;
  const sources: JsonObject[] = [];
  const tokenEnv = envValue(env, "TOKEN_ENV");
  const tokenFile = envValue(env, "TOKEN_FILE");
  const tokenCommand = envValue(env, "TOKEN_COMMAND");
  const audience = envValue(env, "GITHUB_AUDIENCE");
  if (tokenEnv !== undefined) sources.push({ env: tokenEnv });
  if (tokenFile !== undefined) sources.push({ file: tokenFile });
  if (tokenCommand !== undefined) {
    let argv: unknown;
    try {
      argv = JSON.parse(tokenCommand);
    } catch {
      throw new ConfigError(`${ENV_PREFIX}TOKEN_COMMAND must be a JSON array, e.g. ["buildkite-agent","oidc","request-token","--audience","registry.example.com"]`);
    }
    sources.push({ command: argv });
  }
  if (audience !== undefined) sources.push({ github: { audience } });
  if (sources.length > 1) throw new ConfigError(`set only one of ${ENV_PREFIX}TOKEN_ENV, _TOKEN_FILE, _TOKEN_COMMAND, _GITHUB_AUDIENCE`);
  const tokenServer = envValue(env, "TOKEN_SERVER");
  const service = envValue(env, "SERVICE");
  return [
    registry,
    {
      provider: envValue(env, "PROVIDER"),
      ...(sources[0] !== undefined && { token: sources[0] }),
      ...(tokenServer !== undefined && { tokenServer }),
      ...(service !== undefined && { service }),
    },
  ];
}

/** The file (if any) merged with the environment's registry (if any). */
export function loadHelperConfig(env: Env, home: string = homedir()): HelperConfig {
  const path = helperConfigPath(env, home);
  let fileConfig: HelperConfig;
  try {
    fileConfig = parseHelperConfig(readJsonObject(path, "helper config"), path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError((error as Error).message);
  }
  const fromEnv = registryFromEnv(env);
  if (fromEnv === undefined) return fileConfig;
  const where = `${ENV_PREFIX}* (registry ${fromEnv[0]})`;
  const registries = new Map(fileConfig.registries);
  registries.set(registryHost(fromEnv[0], where), parseRegistryConfig(fromEnv[1], where));
  return { ...fileConfig, registries };
}
