// src/main.ts
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

// src/helper.ts
import { chmodSync, copyFileSync, mkdirSync as mkdirSync2, mkdtempSync, readFileSync as readFileSync2, rmSync as rmSync2 } from "node:fs";
import { tmpdir } from "node:os";
import { join as join2 } from "node:path";

// ../client/src/docker-config.ts
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync, fchmodSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
var DockerConfigError = class extends Error {
  name = "DockerConfigError";
};
function dockerConfigPath(env, home = homedir()) {
  const dir = env["DOCKER_CONFIG"];
  return join(dir !== void 0 && dir !== "" ? dir : join(home, ".docker"), "config.json");
}
var base64 = (text) => Buffer.from(text, "utf8").toString("base64");
function passwordEntry(provider, jwt) {
  return { auth: base64(`${provider}:${jwt}`) };
}
function identityTokenEntry(provider, refreshToken) {
  return { auth: base64(`${provider}:`), identitytoken: refreshToken };
}
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
function credentialHelperFor(config, host) {
  const helpers = config["credHelpers"];
  if (isObject(helpers) && typeof helpers[host] === "string") return `credHelpers["${host}"] = ${helpers[host]}`;
  if (typeof config["credsStore"] === "string" && config["credsStore"] !== "") return `credsStore = ${config["credsStore"]}`;
  return void 0;
}
function addLogin(path, host, entry) {
  const config = readDockerConfig(path);
  const auths = config["auths"] ?? {};
  const replaced = auths[host] !== void 0;
  writeDockerConfig(path, { ...config, auths: { ...auths, [host]: entry } });
  const shadowedBy = credentialHelperFor(config, host);
  return { replaced, ...shadowedBy !== void 0 && { shadowedBy } };
}
function containersAuthPath(env, home = homedir()) {
  if (env["REGISTRY_AUTH_FILE"]) return env["REGISTRY_AUTH_FILE"];
  if (env["XDG_RUNTIME_DIR"]) return join(env["XDG_RUNTIME_DIR"], "containers", "auth.json");
  return join(home, ".config", "containers", "auth.json");
}
function credentialHelperFiles(env, home = homedir()) {
  return [.../* @__PURE__ */ new Set([dockerConfigPath(env, home), containersAuthPath(env, home)])];
}
var CREDENTIAL_HELPER_NAME = "jwt-registry-auth";
function addCredentialHelper(path, host, helper = CREDENTIAL_HELPER_NAME) {
  const config = readDockerConfig(path);
  const helpers = config["credHelpers"] ?? {};
  if (!isObject(helpers)) throw new DockerConfigError(`${path}: "credHelpers" must be an object; fix or remove it, it was not modified`);
  const before = helpers[host];
  if (before === helper) return { unchanged: true };
  writeDockerConfig(path, { ...config, credHelpers: { ...helpers, [host]: helper } });
  return { unchanged: false, ...typeof before === "string" && { replaced: before } };
}

// src/helper.ts
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
function installHelper(options, runner2) {
  const { env, host } = options;
  const registry = {
    provider: options.provider,
    token: { github: { audience: options.audience } },
    // As this step resolved them: later steps need not ask the registry again, and get the same service the login was proven for.
    tokenServer: options.endpoint.realm.href,
    service: options.endpoint.service
  };
  const earlier = env[HELPER_CONFIG_VARIABLE];
  let dir;
  let configPath;
  let config;
  if (earlier !== void 0 && earlier !== "") {
    configPath = earlier;
    const existing = readHelperConfig(configPath);
    config = { ...existing, registries: { ...existing["registries"], [host]: registry } };
  } else {
    dir = mkdtempSync(join2(env["RUNNER_TEMP"] || tmpdir(), "jwt-registry-auth-"));
    configPath = join2(dir, "helper.json");
    config = { registries: { [host]: registry }, cacheDir: join2(dir, "cache") };
    const binDir = join2(dir, "bin");
    mkdirSync2(binDir, { mode: 448 });
    const bin = join2(binDir, HELPER_BIN);
    copyFileSync(options.bundle, bin);
    chmodSync(bin, 493);
    runner2.addPath(binDir);
    runner2.exportVariable(HELPER_CONFIG_VARIABLE, configPath);
  }
  writeDockerConfig(configPath, config);
  const files = [];
  for (const path of credentialHelperFiles(env, options.home)) {
    const result = addCredentialHelper(path, host);
    if (result.replaced !== void 0) runner2.warning(`Replaced credHelpers["${host}"] = ${result.replaced} in ${path}; the post step puts it back`);
    if (!result.unchanged) files.push({ path, ...result.replaced !== void 0 && { previous: result.replaced } });
  }
  runner2.info(`Installed ${HELPER_BIN}${dir !== void 0 ? ` in ${join2(dir, "bin")} (on PATH for later steps)` : ""}; ${configPath} serves ${host} with provider ${options.provider}, GitHub OIDC tokens for audience ${options.audience}, token server ${registry.tokenServer} (service ${registry.service}); credHelpers["${host}"] = ${CREDENTIAL_HELPER_NAME} in ${credentialHelperFiles(env, options.home).join(" and ")}`);
  return { host, ...dir !== void 0 && { dir }, configPath, files };
}

// ../client/src/registry-address.ts
var AddressError = class extends Error {
  name = "AddressError";
};
var CONTROL = /[\u0000-\u001f\u007f]/;
function parseHttpUrl(label, value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new AddressError(`${label}: "${value}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new AddressError(`${label}: only http(s) URLs are supported, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "") throw new AddressError(`${label}: credentials in the URL are not allowed`);
  if (url.hash !== "") throw new AddressError(`${label}: a URL fragment is not allowed`);
  return url;
}
function parseRegistryAddress(value, label = "registry") {
  if (value === "") throw new AddressError(`${label} is required (e.g. registry.example.com or registry.example.com:5000)`);
  if (CONTROL.test(value) || /\s/.test(value)) throw new AddressError(`${label} must not contain whitespace`);
  const url = parseHttpUrl(label, value.includes("://") ? value : `https://${value}`);
  if (!["/", "/v2", "/v2/"].includes(url.pathname) || url.search !== "") {
    throw new AddressError(`${label}: expected a host[:port], not a path ("${value}")`);
  }
  const httpFallback = !value.includes("://") && isLoopbackHost(url.hostname) ? `http://${url.host}` : void 0;
  return { host: url.host, baseUrl: `${url.protocol}//${url.host}`, ...httpFallback !== void 0 && { httpFallback } };
}
var isLoopbackHost = (hostname) => hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);

// src/runner.ts
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { EOL } from "node:os";
function getInput(env, name) {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
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

// src/inputs.ts
var InputError = class extends Error {
  name = "InputError";
};
var CONTROL2 = /[\u0000-\u001f\u007f]/;
function asInputError(parse) {
  try {
    return parse();
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(error.message);
    throw error;
  }
}
var parseHttpUrl2 = (input, value) => asInputError(() => parseHttpUrl(`input ${input}`, value));
function parseRegistry(value) {
  return asInputError(() => parseRegistryAddress(value, "input registry"));
}
function parseProvider(env) {
  const provider = getInput(env, "provider");
  const username = getInput(env, "username");
  if (provider !== "" && username !== "" && provider !== username) {
    throw new InputError(`inputs provider ("${provider}") and username ("${username}") disagree; username is only an alias of provider, set one`);
  }
  const name = provider || username;
  if (name === "") throw new InputError("input provider is required: the token server provider name (e.g. github-actions)");
  if (name.includes(":") || CONTROL2.test(name)) throw new InputError("input provider must not contain ':' or control characters");
  return name;
}
function parseBoolean(name, value) {
  if (["true", "True", "TRUE"].includes(value)) return true;
  if (["false", "False", "FALSE"].includes(value)) return false;
  throw new InputError(`input ${name}: expected true or false, got "${value}"`);
}
function parseRefresh(value) {
  if (value === "" || value === "auto") return "auto";
  return parseBoolean("refresh", value) ? "required" : "off";
}
function parseTokenServer(value) {
  if (value === "") return void 0;
  const url = parseHttpUrl2("token-server", value);
  if (url.pathname === "/") url.pathname = "/token";
  return url;
}
function parseInputs(env) {
  const registry = parseRegistry(getInput(env, "registry"));
  const provider = parseProvider(env);
  const audience = getInput(env, "audience") || registry.host;
  if (CONTROL2.test(audience)) throw new InputError("input audience must not contain control characters");
  const tokenServer = parseTokenServer(getInput(env, "token-server"));
  const service = getInput(env, "service");
  if (CONTROL2.test(service) || /\s/.test(service)) throw new InputError("input service must not contain whitespace or control characters");
  let refresh = parseRefresh(getInput(env, "refresh"));
  const logoutInput = getInput(env, "logout");
  const logout = logoutInput === "" ? true : parseBoolean("logout", logoutInput);
  const helperInput = getInput(env, "credential-helper");
  const credentialHelper = helperInput === "" ? false : parseBoolean("credential-helper", helperInput);
  if (credentialHelper) {
    if (refresh === "off") throw new InputError("inputs credential-helper: true and refresh: false contradict each other: the credential helper hands out refresh tokens; drop one of them");
    refresh = "required";
  }
  return { registry, provider, audience, ...tokenServer && { tokenServer }, ...service !== "" && { service }, refresh, logout, credentialHelper };
}

// ../client/src/jwt.ts
import { createHash as createHash2 } from "node:crypto";
function sha256Hex(text) {
  return createHash2("sha256").update(text).digest("hex");
}
function isCompactJwt(token) {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
function unverifiedClaims(token) {
  if (!isCompactJwt(token)) return void 0;
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? claims : void 0;
  } catch {
    return void 0;
  }
}
function expiryOf(token) {
  const exp = unverifiedClaims(token)?.["exp"];
  return typeof exp === "number" && Number.isSafeInteger(exp) ? new Date(exp * 1e3) : void 0;
}

// ../client/src/http.ts
async function fetchWithRetry(fetchImpl, url, init, options = {}) {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 1e3;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, backoffMs * (attempt - 1)));
    try {
      const response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 15e3) });
      if (response.status < 500 || attempt === attempts) return response;
      await response.body?.cancel();
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`${url.origin}${url.pathname}: ${describeError(lastError)}`);
}
function describeError(error) {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
var MAX_SUMMARY = 300;
async function errorSummary(response) {
  const text = (await response.text()).slice(0, 4096);
  let message = text;
  try {
    const body = JSON.parse(text);
    const first = Array.isArray(body["errors"]) ? body["errors"][0] : void 0;
    const candidate = first?.["message"] ?? body["error_description"] ?? body["message"] ?? body["error"];
    if (typeof candidate === "string") message = candidate;
  } catch {
  }
  const clean = message.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return `HTTP ${response.status}${clean === "" ? "" : `: ${clean.slice(0, MAX_SUMMARY)}`}`;
}

// ../client/src/actions-oidc.ts
var OidcTokenError = class extends Error {
  name = "OidcTokenError";
};
async function requestActionsIdToken(env, audience, fetchImpl = fetch, retry = {}) {
  const requestUrl = env["ACTIONS_ID_TOKEN_REQUEST_URL"];
  const requestToken = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"];
  if (!requestUrl || !requestToken) {
    throw new OidcTokenError(
      "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write` (pull_request runs from forks never get an OIDC token)"
    );
  }
  let url;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new OidcTokenError("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url.searchParams.set("audience", audience);
  let response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: `Bearer ${requestToken}`, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new OidcTokenError(`cannot get the Actions OIDC token: ${error.message}`);
  }
  if (!response.ok) throw new OidcTokenError(`the Actions OIDC token request failed: ${await errorSummary(response)}`);
  let body;
  try {
    body = await response.json();
  } catch {
    throw new OidcTokenError("the Actions OIDC token response is not JSON");
  }
  const value = typeof body === "object" && body !== null ? body["value"] : void 0;
  if (typeof value !== "string" || !isCompactJwt(value)) throw new OidcTokenError("the Actions OIDC token response has no JWT in `value`");
  return value;
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

// ../protocol/src/www-authenticate.ts
var TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
function parseWwwAuthenticate(header) {
  const challenges = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "	")) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i])) i++;
    return header.slice(start, i);
  };
  const readQuoted = () => {
    i++;
    let out = "";
    while (i < n) {
      const c = header[i];
      if (c === "\\" && i + 1 < n) {
        out += header[i + 1];
        i += 2;
      } else if (c === '"') {
        i++;
        return out;
      } else {
        out += c;
        i++;
      }
    }
    return void 0;
  };
  while (i < n) {
    skipSpace();
    while (i < n && header[i] === ",") {
      i++;
      skipSpace();
    }
    if (i >= n) break;
    const scheme = readToken();
    if (scheme === "") return challenges;
    const current = { scheme, params: {} };
    challenges.push(current);
    for (; ; ) {
      skipSpace();
      const save = i;
      const name = readToken();
      skipSpace();
      if (name === "" || header[i] !== "=") {
        i = save;
        break;
      }
      i++;
      skipSpace();
      let value;
      if (header[i] === '"') value = readQuoted();
      else value = readToken();
      if (value === void 0) return challenges;
      current.params[name.toLowerCase()] = value;
      skipSpace();
      if (header[i] === ",") {
        i++;
        continue;
      }
      break;
    }
  }
  return challenges;
}
function parseBearerChallenge(header) {
  const bearer = parseWwwAuthenticate(header).find((c) => c.scheme.toLowerCase() === "bearer");
  const realm = bearer?.params["realm"];
  if (!bearer || realm === void 0) return void 0;
  const { service, scope, error } = bearer.params;
  return {
    realm,
    ...service !== void 0 && { service },
    ...scope !== void 0 && { scope },
    ...error !== void 0 && { error },
    ...bearer.params["error_description"] !== void 0 && { errorDescription: bearer.params["error_description"] }
  };
}

// ../client/src/registry.ts
var LoginRefusedError = class extends Error {
  name = "LoginRefusedError";
};
var v2 = (baseUrl) => new URL("/v2/", baseUrl);
async function probeRegistry(registry, fetchImpl = fetch, retry = {}) {
  const bases = registry.httpFallback === void 0 ? [registry.baseUrl] : [registry.baseUrl, registry.httpFallback];
  let answeredBy = registry.baseUrl;
  let failures = [];
  let fellBackFrom = "";
  const eachBase = async (_input, init) => {
    const attemptFailures = [];
    for (const base of bases) {
      try {
        const response2 = await fetchImpl(v2(base), init);
        answeredBy = base;
        fellBackFrom = attemptFailures.length > 0 ? ` (after ${attemptFailures.join("; ")})` : "";
        return response2;
      } catch (error) {
        attemptFailures.push(`GET ${v2(base).href} failed: ${describeError(error)}`);
      }
    }
    failures = attemptFailures;
    throw new Error(attemptFailures.join("; "));
  };
  let response;
  try {
    response = await fetchWithRetry(eachBase, v2(registry.baseUrl), { headers: { Accept: "application/json" } }, retry);
  } catch (error) {
    return { baseUrl: registry.baseUrl, basic: false, failure: failures.length > 0 ? failures.join(", then ") : `GET ${v2(registry.baseUrl).href} failed: ${error.message}` };
  }
  await response.body?.cancel();
  const url = v2(answeredBy).href;
  const header = response.status === 401 ? response.headers.get("www-authenticate") : null;
  if (header === null) return { baseUrl: answeredBy, status: response.status, basic: false, failure: `GET ${url} answered ${response.status} without a token challenge${fellBackFrom}` };
  const challenge = parseBearerChallenge(header);
  if (challenge) return { baseUrl: answeredBy, status: response.status, challenge, basic: false };
  const basic = parseWwwAuthenticate(header).some((c) => c.scheme.toLowerCase() === "basic");
  return { baseUrl: answeredBy, status: response.status, basic, failure: `GET ${url} does not use token auth (WWW-Authenticate: ${header.slice(0, 100)})${fellBackFrom}` };
}
async function proveLogin(baseUrl, authorization, what, fetchImpl = fetch, retry = {}) {
  const url = v2(baseUrl);
  let response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: authorization, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new LoginRefusedError(`cannot check the login: GET ${url.href} failed: ${error.message}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  const header = response.headers.get("www-authenticate");
  const challenge = header === null ? void 0 : parseBearerChallenge(header);
  const detail = challenge?.error === void 0 ? "" : ` (error="${challenge.error}"${challenge.errorDescription === void 0 ? "" : `: ${challenge.errorDescription.slice(0, 200)}`})`;
  const clean = detail.replace(/[\u0000-\u001f\u007f]+/g, " ");
  throw new LoginRefusedError(`the registry refused the login: GET ${url.href} with ${what} answered ${await errorSummary(response)}${clean}`);
}

// ../client/src/token-server.ts
var TokenServerError = class extends Error {
  name = "TokenServerError";
  /** The token server answered and said no: the OIDC token (or its provider) is not accepted. */
  refused;
  constructor(message, refused = false) {
    super(message);
    this.refused = refused;
  }
};
function checkRealm(realm, registryBaseUrl) {
  if (realm.protocol === "https:") return;
  if (realm.protocol === "http:" && (registryBaseUrl.startsWith("http:") || isLoopbackHost(realm.hostname))) return;
  throw new TokenServerError(`refusing to send the OIDC token to ${realm.origin}: the token server must use https`);
}
function tokenEndpointFor(probe, given = {}) {
  const { challenge } = probe;
  let realm;
  if (given.tokenServer) realm = new URL(given.tokenServer);
  else if (challenge) {
    try {
      realm = new URL(challenge.realm, probe.baseUrl);
    } catch {
      return { probe, found: false, reason: `the challenge of GET ${probe.baseUrl}/v2/ has an unusable realm` };
    }
  } else return { probe, found: false, reason: probe.failure ?? "no token challenge" };
  checkRealm(realm, probe.baseUrl);
  const service = given.service ?? challenge?.service;
  if (service === void 0 || service === "") {
    const why = probe.failure ?? `the challenge of GET ${probe.baseUrl}/v2/ names no service`;
    throw new TokenServerError(`cannot tell which service to ask the token server for: ${why}; set the service input to the service the registry's tokens are for (its auth.token.service)`);
  }
  const challengeService = given.service !== void 0 && challenge?.service !== void 0 && challenge.service !== given.service ? challenge.service : void 0;
  return { probe, found: true, endpoint: { realm, service }, ...challengeService !== void 0 && { challengeService } };
}
async function discoverTokenEndpoint(registry, given = {}, fetchImpl = fetch, retry = {}) {
  return tokenEndpointFor(await probeRegistry(registry, fetchImpl, retry), given);
}
async function fetchRefreshToken(endpoint, provider, jwt, clientId, fetchImpl = fetch, retry = {}) {
  const url = new URL(endpoint.realm);
  url.searchParams.set("account", provider);
  url.searchParams.set("client_id", clientId);
  url.searchParams.set("offline_token", "true");
  url.searchParams.set("service", endpoint.service);
  const basic = Buffer.from(`${provider}:${jwt}`, "utf8").toString("base64");
  let response;
  try {
    response = await fetchWithRetry(fetchImpl, url, { headers: { Authorization: `Basic ${basic}`, Accept: "application/json" } }, retry);
  } catch (error) {
    throw new TokenServerError(`cannot reach the token server: ${error.message}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new TokenServerError(`the token server at ${url.origin} refused the OIDC token for provider "${provider}": ${await errorSummary(response)}`, true);
  }
  if (!response.ok) throw new TokenServerError(`the token server at ${url.origin} failed: ${await errorSummary(response)}`);
  let body;
  try {
    body = await response.json();
  } catch {
    throw new TokenServerError(`the token server at ${url.origin} answered with something that is not JSON`);
  }
  const refreshToken = typeof body === "object" && body !== null ? body["refresh_token"] : void 0;
  if (refreshToken === void 0 || refreshToken === "") return {};
  if (!isTokenString(refreshToken)) throw new TokenServerError("the token server's refresh_token is not a token string");
  return { refreshToken };
}
var isTokenString = (value) => typeof value === "string" && value !== "" && !/[\s\u0000-\u001f\u007f]/.test(value);
async function fetchRegistryToken(endpoint, credential, clientId, fetchImpl = fetch, retry = {}) {
  const url = new URL(endpoint.realm);
  let init;
  let what;
  if (credential.kind === "refresh-token") {
    what = "the refresh token";
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.refreshToken, service: endpoint.service, client_id: clientId });
    init = { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" }, body: form.toString() };
  } else {
    what = `the OIDC token for provider "${credential.provider}"`;
    url.searchParams.set("account", credential.provider);
    url.searchParams.set("client_id", clientId);
    url.searchParams.set("service", endpoint.service);
    const basic = Buffer.from(`${credential.provider}:${credential.jwt}`, "utf8").toString("base64");
    init = { headers: { Authorization: `Basic ${basic}`, Accept: "application/json" } };
  }
  let response;
  try {
    response = await fetchWithRetry(fetchImpl, url, init, retry);
  } catch (error) {
    throw new TokenServerError(`cannot reach the token server to check the login: ${error.message}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new TokenServerError(`the token server at ${url.origin} refused ${what} (service "${endpoint.service}"): ${await errorSummary(response)}`, true);
  }
  if (!response.ok) throw new TokenServerError(`the token server at ${url.origin} failed to issue a registry token (service "${endpoint.service}"): ${await errorSummary(response)}`);
  let body;
  try {
    body = await response.json();
  } catch {
    throw new TokenServerError(`the token server at ${url.origin} answered with something that is not JSON`);
  }
  const fields = typeof body === "object" && body !== null ? body : {};
  const token = credential.kind === "refresh-token" ? fields["access_token"] ?? fields["token"] : fields["token"] ?? fields["access_token"];
  if (!isTokenString(token)) throw new TokenServerError(`the token server at ${url.origin} answered without a registry token`);
  return token;
}

// src/login.ts
var CLIENT_ID = "jwt-registry-auth-action";
async function obtainRefreshToken(inputs, discovery, jwt, runner2, deps) {
  if (inputs.refresh === "off") return void 0;
  const fallBack = (why) => {
    if (inputs.refresh === "required") throw new TokenServerError(`refresh is true but ${why}`);
    runner2.warning(`No refresh token (${why}); logging in with the OIDC token as the password instead`);
    return void 0;
  };
  if (!discovery.found) return fallBack(`no token server found: ${discovery.reason}`);
  let grant;
  try {
    grant = await fetchRefreshToken(discovery.endpoint, inputs.provider, jwt, CLIENT_ID, deps.fetch, deps.retry);
  } catch (error) {
    if (error instanceof TokenServerError && !error.refused) return fallBack(error.message);
    throw error;
  }
  return grant.refreshToken ?? fallBack(`the token server gave none (refresh tokens are off for provider "${inputs.provider}")`);
}
function noTokenServer(inputs, discovery) {
  const { probe } = discovery;
  if (probe.status === 200 || probe.basic) return;
  throw new LoginRefusedError(
    `cannot log in to ${inputs.registry.host}: ${discovery.reason}; check the registry input, or set the token-server and service inputs to the token server's endpoint and the service the registry's tokens are for`
  );
}
async function prove(discovery, credential, runner2, deps) {
  const { probe } = discovery;
  if (discovery.found) {
    const token = await fetchRegistryToken(discovery.endpoint, credential, CLIENT_ID, deps.fetch, deps.retry);
    runner2.mask(token);
    const what = `a token from ${discovery.endpoint.realm.origin} for service "${discovery.endpoint.service}"`;
    await proveLogin(probe.baseUrl, `Bearer ${token}`, what, deps.fetch, deps.retry);
    runner2.info(`${probe.baseUrl}/v2/ accepts ${what}: the login works`);
    return;
  }
  if (probe.status === 200) {
    runner2.info(`${probe.baseUrl}/v2/ answers without credentials: the registry does not check them`);
    return;
  }
  if (credential.kind !== "password") throw new Error("unreachable: a refresh token without a token server");
  const basic = `Basic ${Buffer.from(`${credential.provider}:${credential.jwt}`, "utf8").toString("base64")}`;
  runner2.mask(basic.slice("Basic ".length));
  await proveLogin(probe.baseUrl, basic, "Basic credentials", deps.fetch, deps.retry);
  runner2.info(`${probe.baseUrl}/v2/ accepts the Basic credentials: the login works`);
}
function describeExpiry(expiresAt) {
  return expiresAt ? `expires ${expiresAt.toISOString()}` : "expiry unknown";
}
async function login(env, runner2, deps = {}) {
  const inputs = parseInputs(env);
  const jwt = await requestActionsIdToken(env, inputs.audience, deps.fetch, deps.retry);
  runner2.mask(jwt);
  const subject = unverifiedClaims(jwt)?.["sub"];
  runner2.info(`Got the job's OIDC token for audience ${inputs.audience}: sub ${typeof subject === "string" ? subject : "?"}, sha256 ${sha256Hex(jwt)}, ${describeExpiry(expiryOf(jwt))}`);
  const { registry } = inputs;
  const discovery = await discoverTokenEndpoint(registry, inputs, deps.fetch, deps.retry);
  const { probe } = discovery;
  if (probe.baseUrl !== registry.baseUrl) {
    runner2.info(`${registry.baseUrl}/v2/ did not answer (TLS/connection failure); ${registry.host} is on loopback, so using ${probe.baseUrl} as docker does for insecure registries`);
  }
  if (discovery.found) {
    const { realm, service } = discovery.endpoint;
    runner2.info(`Token server: ${realm.origin}${realm.pathname} (service ${service})`);
    if (discovery.challengeService !== void 0) runner2.warning(`The service input "${service}" replaces the registry's challenge service "${discovery.challengeService}"`);
  } else noTokenServer(inputs, discovery);
  const refreshToken = await obtainRefreshToken(inputs, discovery, jwt, runner2, deps);
  let entry;
  let expiresAt;
  let stored;
  if (refreshToken !== void 0) {
    runner2.mask(refreshToken);
    entry = identityTokenEntry(inputs.provider, refreshToken);
    expiresAt = expiryOf(refreshToken);
    stored = { kind: "refresh-token", refreshToken };
  } else {
    entry = passwordEntry(inputs.provider, jwt);
    expiresAt = expiryOf(jwt);
    stored = { kind: "password", provider: inputs.provider, jwt };
  }
  runner2.mask(entry.auth);
  await prove(discovery, stored, runner2, deps);
  if (inputs.credentialHelper) return useHelper(env, inputs, discovery, runner2, deps);
  const configPath = dockerConfigPath(env, deps.home);
  if (inputs.logout) {
    runner2.saveState(STATE.config, configPath);
    runner2.saveState(STATE.registry, inputs.registry.host);
    runner2.saveState(STATE.fingerprint, entryFingerprint(entry));
  } else runner2.saveState(STATE.logout, "false");
  const result = addLogin(configPath, inputs.registry.host, entry);
  if (result.replaced) runner2.warning(`Replaced the existing login for ${inputs.registry.host} in ${configPath}`);
  if (result.shadowedBy !== void 0) {
    runner2.warning(`${configPath} sets ${result.shadowedBy}: docker asks that helper for ${inputs.registry.host} and will not use this login`);
  }
  runner2.setOutput("registry", inputs.registry.host);
  runner2.setOutput("expires-at", expiresAt?.toISOString() ?? "");
  const credential = refreshToken !== void 0 ? "identitytoken" : "password";
  const how = credential === "identitytoken" ? "a refresh token" : "the OIDC token as password (later steps fail after it expires; a token server with refresh tokens avoids that)";
  const elapsed = deps.elapsedMs ? ` in ${Math.round(deps.elapsedMs())} ms` : "";
  runner2.info(`Logged in to ${inputs.registry.host} as ${inputs.provider} with ${how}, ${describeExpiry(expiresAt)}; wrote ${configPath}${elapsed}`);
  return { host: inputs.registry.host, configPath, credential, ...expiresAt && { expiresAt } };
}
function useHelper(env, inputs, discovery, runner2, deps) {
  if (!discovery.found) throw new Error("unreachable: the credential helper without a token server");
  if (deps.helperBundle === void 0) throw new Error("the credential helper bundle is missing: dist/ must hold docker-credential-jwt-registry-auth beside main.mjs");
  const configPath = dockerConfigPath(env, deps.home);
  const helper = installHelper(
    { host: inputs.registry.host, provider: inputs.provider, audience: inputs.audience, endpoint: discovery.endpoint, bundle: deps.helperBundle, env, ...deps.home !== void 0 && { home: deps.home } },
    runner2
  );
  if (inputs.logout) runner2.saveState(STATE.helper, JSON.stringify(helper));
  else runner2.saveState(STATE.logout, "false");
  runner2.setOutput("registry", inputs.registry.host);
  runner2.setOutput("expires-at", "");
  const elapsed = deps.elapsedMs ? ` in ${Math.round(deps.elapsedMs())} ms` : "";
  runner2.info(`Logged in to ${inputs.registry.host} as ${inputs.provider} through the credential helper: later steps get fresh credentials for as long as the job runs${elapsed}`);
  return { host: inputs.registry.host, configPath, credential: "credential-helper" };
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

// src/main.ts
var runner = githubRunner(process.env);
await runStep(runner, () => login(process.env, runner, { elapsedMs: () => performance.now(), helperBundle: fileURLToPath(new URL(HELPER_BIN, import.meta.url)) }));
