/**
 * `credential-helper: true`: instead of a static `identitytoken`, install
 * docker-credential-jwt-registry-auth (shipped in dist/ beside main.mjs) for the
 * job's later steps and point docker's and containers' `credHelpers` at it, so
 * every pull and push gets a credential minted from a fresh OIDC token — past
 * any refresh-token lifetime, and for buildx builders too.
 *
 * Everything lives in one directory under `$RUNNER_TEMP` (the bin, helper.json,
 * the helper's refresh-token cache); the post step removes it and undoes the
 * `credHelpers` entries, each only while it still names this helper.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addCredentialHelper, credentialHelperFiles, CREDENTIAL_HELPER_NAME, removeCredentialHelper, writeDockerConfig } from "@jwt-registry-auth/client/docker-config";
import type { Env } from "@jwt-registry-auth/client/env";
import type { TokenEndpoint } from "@jwt-registry-auth/client/token-server";
import type { Runner } from "./runner.ts";

/** The executable name clients run for `credHelpers: {HOST: "jwt-registry-auth"}`. */
export const HELPER_BIN = `docker-credential-${CREDENTIAL_HELPER_NAME}`;
/** The variable the helper reads its config path from. */
export const HELPER_CONFIG_VARIABLE = "JWT_REGISTRY_AUTH_HELPER_CONFIG";

/** What main tells post (as JSON in one state value) so post can undo exactly this. */
export interface HelperState {
  readonly host: string;
  /** The directory this step created (bin, helper.json, cache), removed by post; absent when it added to an earlier step's helper.json. */
  readonly dir?: string;
  readonly configPath: string;
  /** The auth files whose `credHelpers[host]` this step set, with the helper it replaced. */
  readonly files: readonly { readonly path: string; readonly previous?: string }[];
}

export interface InstallOptions {
  readonly host: string;
  readonly provider: string;
  readonly audience: string;
  readonly endpoint: TokenEndpoint;
  /** The helper bundle to install (dist/docker-credential-jwt-registry-auth). */
  readonly bundle: string;
  readonly env: Env;
  readonly home?: string;
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

function readHelperConfig(path: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the helper config ${path} named by ${HELPER_CONFIG_VARIABLE}: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || (parsed["registries"] !== undefined && !isObject(parsed["registries"]))) {
    throw new Error(`the helper config ${path} named by ${HELPER_CONFIG_VARIABLE} must be an object with "registries"; it was not modified`);
  }
  return parsed;
}

/** Installs the helper for later steps: bin on PATH, helper.json through the environment, credHelpers in both auth files. */
export function installHelper(options: InstallOptions, runner: Runner): HelperState {
  const { env, host } = options;
  const registry = {
    provider: options.provider,
    token: { github: { audience: options.audience } },
    // As this step resolved them: later steps need not ask the registry again, and get the same service the login was proven for.
    tokenServer: options.endpoint.realm.href,
    service: options.endpoint.service,
  };
  // An earlier step of this Action (another registry) installed the helper already: add this registry to its config.
  const earlier = env[HELPER_CONFIG_VARIABLE];
  let dir: string | undefined;
  let configPath: string;
  let config: JsonObject;
  if (earlier !== undefined && earlier !== "") {
    configPath = earlier;
    const existing = readHelperConfig(configPath);
    config = { ...existing, registries: { ...(existing["registries"] as JsonObject | undefined), [host]: registry } };
  } else {
    dir = mkdtempSync(join(env["RUNNER_TEMP"] || tmpdir(), "jwt-registry-auth-"));
    configPath = join(dir, "helper.json");
    config = { registries: { [host]: registry }, cacheDir: join(dir, "cache") };
    const binDir = join(dir, "bin");
    mkdirSync(binDir, { mode: 0o700 });
    const bin = join(binDir, HELPER_BIN);
    copyFileSync(options.bundle, bin);
    chmodSync(bin, 0o755);
    runner.addPath(binDir);
    runner.exportVariable(HELPER_CONFIG_VARIABLE, configPath);
  }
  // Same atomic 0600 write as the docker config.
  writeDockerConfig(configPath, config);
  const files: { path: string; previous?: string }[] = [];
  for (const path of credentialHelperFiles(env, options.home)) {
    const result = addCredentialHelper(path, host);
    if (result.replaced !== undefined) runner.warning(`Replaced credHelpers["${host}"] = ${result.replaced} in ${path}; the post step puts it back`);
    if (!result.unchanged) files.push({ path, ...(result.replaced !== undefined && { previous: result.replaced }) });
  }
  runner.info(`Installed ${HELPER_BIN}${dir !== undefined ? ` in ${join(dir, "bin")} (on PATH for later steps)` : ""}; ${configPath} serves ${host} with provider ${options.provider}, GitHub OIDC tokens for audience ${options.audience}, token server ${registry.tokenServer} (service ${registry.service}); credHelpers["${host}"] = ${CREDENTIAL_HELPER_NAME} in ${credentialHelperFiles(env, options.home).join(" and ")}`);
  return { host, ...(dir !== undefined && { dir }), configPath, files };
}

/** The post step's half: credHelpers entries back as they were (while still ours), then the registry out of helper.json or the whole directory away. */
export function uninstallHelper(state: HelperState, runner: Runner): void {
  const { host } = state;
  for (const file of state.files) {
    switch (removeCredentialHelper(file.path, host, file.previous)) {
      case "removed":
        runner.info(`Removed credHelpers["${host}"] from ${file.path}${file.previous !== undefined ? ` (restored ${file.previous})` : ""}`);
        break;
      case "absent":
        runner.info(`Nothing to remove: ${file.path} has no credHelpers entry for ${host} any more`);
        break;
      case "changed":
        runner.warning(`Left credHelpers["${host}"] in ${file.path} alone: it names another helper since this Action set it`);
        break;
    }
  }
  if (state.dir !== undefined) {
    // bin, helper.json and the cached refresh tokens.
    rmSync(state.dir, { recursive: true, force: true });
    runner.info(`Removed ${state.dir} (the helper, its config and its cached refresh tokens)`);
    return;
  }
  try {
    const config = readHelperConfig(state.configPath);
    const { [host]: _ours, ...rest } = (config["registries"] as JsonObject | undefined) ?? {};
    writeDockerConfig(state.configPath, { ...config, registries: rest });
    runner.info(`Removed ${host} from ${state.configPath}`);
  } catch {
    runner.info(`Nothing to remove from ${state.configPath}: it is gone (an earlier step's post removed it)`);
  }
}

export function parseHelperState(text: string): HelperState | undefined {
  if (text === "") return undefined;
  const value = JSON.parse(text) as HelperState;
  return value;
}
