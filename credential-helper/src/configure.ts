/**
 * `configure`: one command to set the helper up for a registry. It writes the
 * registry's entry into helper.json and points `credHelpers[HOST]` at
 * `jwt-registry-auth` in docker's config and in containers' auth file (podman,
 * skopeo, buildah), keeping every other entry of all three files.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { addCredentialHelper, dockerConfigPath } from "./client/docker-config.ts";
import type { Env } from "./client/env.ts";
import { ConfigError, helperConfigPath, parseRegistryConfig, saveRegistryConfig, type RegistryConfig } from "./config.ts";
import { registryHostOf } from "./get.ts";

/** `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`, as containers-image looks. */
export function containersAuthPath(env: Env, home: string = homedir()): string {
  if (env["REGISTRY_AUTH_FILE"]) return env["REGISTRY_AUTH_FILE"];
  if (env["XDG_RUNTIME_DIR"]) return join(env["XDG_RUNTIME_DIR"], "containers", "auth.json");
  return join(home, ".config", "containers", "auth.json");
}

export const CONFIGURE_USAGE =
  "usage: docker-credential-jwt-registry-auth configure --registry HOST --provider NAME " +
  "(--token-env NAME | --token-file PATH | --github [--audience A] | --token-command PROGRAM [ARG…]) [--token-server URL] [--service S]\n" +
  "  --token-command takes every argument after it, so it comes last";

export interface ConfigureRequest {
  readonly host: string;
  readonly registry: RegistryConfig;
}

/** Parses configure's arguments into the same checked form the config file gives. */
export function parseConfigureArgs(args: readonly string[]): ConfigureRequest {
  const values = new Map<string, string>();
  let github = false;
  let command: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] as string;
    if (flag === "--token-command") {
      command = args.slice(i + 1);
      break;
    }
    if (flag === "--github") {
      github = true;
      continue;
    }
    if (!["--registry", "--provider", "--token-env", "--token-file", "--audience", "--token-server", "--service"].includes(flag)) throw new ConfigError(`configure: unknown argument "${flag}"\n${CONFIGURE_USAGE}`);
    const value = args[i + 1];
    if (value === undefined) throw new ConfigError(`configure: ${flag} needs a value\n${CONFIGURE_USAGE}`);
    if (values.has(flag)) throw new ConfigError(`configure: ${flag} given twice`);
    values.set(flag, value);
    i++;
  }
  const registry = values.get("--registry");
  if (registry === undefined || !values.has("--provider")) throw new ConfigError(`configure: --registry and --provider are required\n${CONFIGURE_USAGE}`);
  const sources = [values.has("--token-env"), values.has("--token-file"), github, command !== undefined].filter(Boolean).length;
  if (sources > 1) throw new ConfigError(`configure: give one token source\n${CONFIGURE_USAGE}`);
  if (values.has("--audience") && !github) throw new ConfigError("configure: --audience goes with --github");
  const token =
    values.get("--token-env") !== undefined
      ? { env: values.get("--token-env") }
      : values.get("--token-file") !== undefined
        ? { file: values.get("--token-file") }
        : github
          ? { github: values.has("--audience") ? { audience: values.get("--audience") } : {} }
          : command !== undefined
            ? { command }
            : undefined;
  const entry = {
    provider: values.get("--provider"),
    ...(token !== undefined && { token }),
    ...(values.has("--token-server") && { tokenServer: values.get("--token-server") }),
    ...(values.has("--service") && { service: values.get("--service") }),
  };
  let host: string;
  try {
    host = registryHostOf(registry);
  } catch (error) {
    throw new ConfigError(`configure: --registry: ${(error as Error).message}`);
  }
  return { host, registry: parseRegistryConfig(entry, "configure") };
}

export interface ConfigureResult {
  readonly helperConfig: string;
  readonly dockerConfig: string;
  readonly containersAuth: string;
  /** Files where credHelpers[HOST] named another helper before. */
  readonly replaced: readonly string[];
}

export function configure(request: ConfigureRequest, env: Env, home: string = homedir()): ConfigureResult {
  const helperConfig = helperConfigPath(env, home);
  saveRegistryConfig(helperConfig, request.host, request.registry);
  const dockerConfig = dockerConfigPath(env, home);
  const containersAuth = containersAuthPath(env, home);
  const replaced: string[] = [];
  for (const path of new Set([dockerConfig, containersAuth])) {
    const result = addCredentialHelper(path, request.host);
    if (result.replaced !== undefined) replaced.push(`${path} (was ${result.replaced})`);
  }
  return { helperConfig, dockerConfig, containersAuth, replaced };
}
