// ../client/src/docker-config.ts
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { basename, dirname, join } from "node:path";
var DockerConfigError = class extends Error {
  name = "DockerConfigError";
};
function entryFingerprint(entry) {
  const field = (value) => typeof value === "string" ? value : "";
  return createHash("sha256").update(`${field(entry.auth)}
${field(entry.identitytoken)}`).digest("hex");
}
var isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
function readText(path) {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return void 0;
    throw new DockerConfigError(`cannot read docker config ${path}: ${error.message}`);
  }
}
function readDockerConfig(path) {
  const text = readText(path);
  if (text === void 0 || text.trim() === "") return {};
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DockerConfigError(`docker config ${path} is not valid JSON (${error.message}); fix or remove it, it was not modified`);
  }
  if (!isObject(parsed)) throw new DockerConfigError(`docker config ${path} must hold a JSON object; fix or remove it, it was not modified`);
  if (parsed["auths"] !== void 0 && !isObject(parsed["auths"])) {
    throw new DockerConfigError(`docker config ${path}: "auths" must be an object; fix or remove it, it was not modified`);
  }
  return parsed;
}
function writeDockerConfig(path, config) {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    mkdirSync(dirname(path), { recursive: true, mode: 448 });
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = openSync(temp, "wx", 384);
    try {
      fchmodSync(fd, 384);
      writeSync(fd, JSON.stringify(config, null, "	"));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new DockerConfigError(`cannot write docker config ${target}: ${error.message}`);
  }
}
function removeLogin(path, host, fingerprint) {
  const config = readDockerConfig(path);
  const auths = config["auths"];
  const entry = auths?.[host];
  if (auths === void 0 || entry === void 0) return "absent";
  if (!isObject(entry) || entryFingerprint(entry) !== fingerprint) return "changed";
  const { [host]: _removed, ...rest } = auths;
  writeDockerConfig(path, { ...config, auths: rest });
  return "removed";
}
var CREDENTIAL_HELPER_NAME = "jwt-registry-auth";
function removeCredentialHelper(path, host, previous, helper = CREDENTIAL_HELPER_NAME) {
  const config = readDockerConfig(path);
  const helpers = config["credHelpers"];
  if (!isObject(helpers) || helpers[host] === void 0) return "absent";
  if (helpers[host] !== helper) return "changed";
  const { [host]: _removed, ...rest } = helpers;
  const credHelpers = previous !== void 0 ? { ...rest, [host]: previous } : rest;
  const { credHelpers: _old, ...others } = config;
  writeDockerConfig(path, Object.keys(credHelpers).length > 0 ? { ...others, credHelpers } : others);
  return "removed";
}

// src/runner.ts
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { EOL } from "node:os";
function getState(env, name) {
  return env[`STATE_${name}`] ?? "";
}
function escapeCommandData(value) {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function fileCommandBlock(name, value, delimiter = `ghadelimiter_${randomUUID()}`) {
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`refusing to write ${name}: its value contains the delimiter`);
  }
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}
function githubRunner(env, write = (line) => process.stdout.write(line + EOL)) {
  const fileOf = (variable) => {
    const file = env[variable];
    if (!file) throw new Error(`${variable} is not set: this must run as a GitHub Actions step`);
    return file;
  };
  const appendTo = (variable, name, value) => {
    appendFileSync(fileOf(variable), fileCommandBlock(name, value), { encoding: "utf8" });
  };
  return {
    info: (message) => write(message),
    warning: (message) => write(`::warning::${escapeCommandData(message)}`),
    error: (message) => write(`::error::${escapeCommandData(message)}`),
    mask: (secret) => {
      for (const line of secret.split(/\r?\n/)) if (line.trim() !== "") write(`::add-mask::${escapeCommandData(line)}`);
    },
    setOutput: (name, value) => appendTo("GITHUB_OUTPUT", name, value),
    saveState: (name, value) => appendTo("GITHUB_STATE", name, value),
    exportVariable: (name, value) => appendTo("GITHUB_ENV", name, value),
    addPath: (dir) => {
      if (/[\r\n]/.test(dir)) throw new Error(`refusing to add ${JSON.stringify(dir)} to PATH: it contains a line break`);
      appendFileSync(fileOf("GITHUB_PATH"), `${dir}${EOL}`, { encoding: "utf8" });
    }
  };
}

// src/state.ts
var STATE = {
  config: "config",
  registry: "registry",
  /** SHA-256 of the entry main wrote: post removes the entry only if it is still that one. */
  fingerprint: "fingerprint",
  logout: "logout",
  /** credential-helper: true — what to undo, as JSON (helper.ts HelperState). */
  helper: "helper"
};

// src/helper.ts
import { chmodSync, copyFileSync, mkdirSync as mkdirSync2, mkdtempSync, readFileSync as readFileSync2, rmSync as rmSync2 } from "node:fs";
var HELPER_BIN = `docker-credential-${CREDENTIAL_HELPER_NAME}`;
var HELPER_CONFIG_VARIABLE = "JWT_REGISTRY_AUTH_HELPER_CONFIG";
var isObject2 = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
function readHelperConfig(path) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync2(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the helper config ${path} named by ${HELPER_CONFIG_VARIABLE}: ${error.message}`);
  }
  if (!isObject2(parsed) || parsed["registries"] !== void 0 && !isObject2(parsed["registries"])) {
    throw new Error(`the helper config ${path} named by ${HELPER_CONFIG_VARIABLE} must be an object with "registries"; it was not modified`);
  }
  return parsed;
}
function uninstallHelper(state, runner2) {
  const { host } = state;
  for (const file of state.files) {
    switch (removeCredentialHelper(file.path, host, file.previous)) {
      case "removed":
        runner2.info(`Removed credHelpers["${host}"] from ${file.path}${file.previous !== void 0 ? ` (restored ${file.previous})` : ""}`);
        break;
      case "absent":
        runner2.info(`Nothing to remove: ${file.path} has no credHelpers entry for ${host} any more`);
        break;
      case "changed":
        runner2.warning(`Left credHelpers["${host}"] in ${file.path} alone: it names another helper since this Action set it`);
        break;
    }
  }
  if (state.dir !== void 0) {
    rmSync2(state.dir, { recursive: true, force: true });
    runner2.info(`Removed ${state.dir} (the helper, its config and its cached refresh tokens)`);
    return;
  }
  try {
    const config = readHelperConfig(state.configPath);
    const { [host]: _ours, ...rest } = config["registries"] ?? {};
    writeDockerConfig(state.configPath, { ...config, registries: rest });
    runner2.info(`Removed ${host} from ${state.configPath}`);
  } catch {
    runner2.info(`Nothing to remove from ${state.configPath}: it is gone (an earlier step's post removed it)`);
  }
}
function parseHelperState(text) {
  if (text === "") return void 0;
  const value = JSON.parse(text);
  return value;
}

// src/logout.ts
function logout(env, runner2) {
  if (getState(env, STATE.logout) === "false") {
    runner2.info("logout is false: leaving the registry login in place");
    return;
  }
  const helper = parseHelperState(getState(env, STATE.helper));
  if (helper !== void 0) {
    uninstallHelper(helper, runner2);
    return;
  }
  const configPath = getState(env, STATE.config);
  const host = getState(env, STATE.registry);
  const fingerprint = getState(env, STATE.fingerprint);
  if (configPath === "" || host === "" || fingerprint === "") {
    runner2.info("Nothing to log out: the main step did not log in");
    return;
  }
  switch (removeLogin(configPath, host, fingerprint)) {
    case "removed":
      runner2.info(`Logged out of ${host}: removed its entry from ${configPath}`);
      return;
    case "absent":
      runner2.info(`Nothing to log out: ${configPath} has no entry for ${host} any more`);
      return;
    case "changed":
      runner2.warning(`Left the entry for ${host} in ${configPath} alone: it was replaced after this Action logged in`);
      return;
  }
}

// src/step.ts
async function runStep(runner2, body) {
  try {
    await body();
  } catch (error) {
    runner2.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

// src/post.ts
var runner = githubRunner(process.env);
await runStep(runner, () => logout(process.env, runner));
