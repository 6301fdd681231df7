/**
 * The main step: get the job's OIDC token, turn it into the longest-lived
 * credential the token server will give (a refresh token, else the JWT itself
 * as the password), prove it against the registry as `docker login` does, and
 * only then write it into the docker config. Every secret is masked before
 * anything could print it.
 */
import { addLogin, dockerConfigPath, entryFingerprint, identityTokenEntry, passwordEntry, type DockerAuthEntry } from "@jwt-registry-auth/client/docker-config";
import type { Fetch, RetryOptions } from "@jwt-registry-auth/client/http";
import { parseInputs, type ActionInputs } from "./inputs.ts";
import { expiryOf, sha256Hex, unverifiedClaims } from "@jwt-registry-auth/client/jwt";
import { requestActionsIdToken } from "@jwt-registry-auth/client/actions-oidc";
import type { Env, Runner } from "./runner.ts";
import { STATE } from "./state.ts";
import { installHelper } from "./helper.ts";
import { LoginRefusedError, proveLogin } from "@jwt-registry-auth/client/registry";
import { discoverTokenEndpoint, fetchRefreshToken, fetchRegistryToken, TokenServerError, type Discovery, type RefreshTokenGrant, type StoredCredential } from "@jwt-registry-auth/client/token-server";

/** How the Action names itself to the token server, for its audit log. */
export const CLIENT_ID = "jwt-registry-auth-action";

export interface LoginDeps {
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
  /** Home directory for the default docker config path. */
  readonly home?: string;
  /** Milliseconds since the step started, for the timing line. */
  readonly elapsedMs?: () => number;
  /** The helper bundle `credential-helper: true` installs: dist/docker-credential-jwt-registry-auth beside main.mjs. */
  readonly helperBundle?: string;
}

export interface LoginOutcome {
  readonly host: string;
  readonly configPath: string;
  readonly credential: "identitytoken" | "password" | "credential-helper";
  readonly expiresAt?: Date;
}

/** Refresh token when the token server is there and gives one; `undefined` means fall back to the JWT as password. */
async function obtainRefreshToken(inputs: ActionInputs, discovery: Discovery, jwt: string, runner: Runner, deps: LoginDeps): Promise<string | undefined> {
  if (inputs.refresh === "off") return undefined;
  const fallBack = (why: string): undefined => {
    if (inputs.refresh === "required") throw new TokenServerError(`refresh is true but ${why}`);
    runner.warning(`No refresh token (${why}); logging in with the OIDC token as the password instead`);
    return undefined;
  };
  if (!discovery.found) return fallBack(`no token server found: ${discovery.reason}`);
  let grant: RefreshTokenGrant;
  try {
    grant = await fetchRefreshToken(discovery.endpoint, inputs.provider, jwt, CLIENT_ID, deps.fetch, deps.retry);
  } catch (error) {
    // A refusal means the JWT itself is not accepted: as a password it would fail later, less clearly.
    if (error instanceof TokenServerError && !error.refused) return fallBack(error.message);
    throw error;
  }
  return grant.refreshToken ?? fallBack(`the token server gave none (refresh tokens are off for provider "${inputs.provider}")`);
}

/**
 * The Bearer challenge could not be read and no token-server input replaces it:
 * only a registry that lets anyone in, or asks for Basic credentials, can still
 * be logged in to (with the OIDC token as the password).
 */
function noTokenServer(inputs: ActionInputs, discovery: Discovery & { found: false }): void {
  const { probe } = discovery;
  if (probe.status === 200 || probe.basic) return;
  throw new LoginRefusedError(
    `cannot log in to ${inputs.registry.host}: ${discovery.reason}; check the registry input, or set the token-server and service inputs to the token server's endpoint and the service the registry's tokens are for`,
  );
}

/** Uses the credential as docker will, before anything is written: a token from the token server, then `GET /v2/` with it. */
async function prove(discovery: Discovery, credential: StoredCredential, runner: Runner, deps: LoginDeps): Promise<void> {
  const { probe } = discovery;
  if (discovery.found) {
    const token = await fetchRegistryToken(discovery.endpoint, credential, CLIENT_ID, deps.fetch, deps.retry);
    runner.mask(token);
    const what = `a token from ${discovery.endpoint.realm.origin} for service "${discovery.endpoint.service}"`;
    await proveLogin(probe.baseUrl, `Bearer ${token}`, what, deps.fetch, deps.retry);
    runner.info(`${probe.baseUrl}/v2/ accepts ${what}: the login works`);
    return;
  }
  if (probe.status === 200) {
    runner.info(`${probe.baseUrl}/v2/ answers without credentials: the registry does not check them`);
    return;
  }
  if (credential.kind !== "password") throw new Error("unreachable: a refresh token without a token server");
  const basic = `Basic ${Buffer.from(`${credential.provider}:${credential.jwt}`, "utf8").toString("base64")}`;
  runner.mask(basic.slice("Basic ".length));
  await proveLogin(probe.baseUrl, basic, "Basic credentials", deps.fetch, deps.retry);
  runner.info(`${probe.baseUrl}/v2/ accepts the Basic credentials: the login works`);
}

function describeExpiry(expiresAt: Date | undefined): string {
  return expiresAt ? `expires ${expiresAt.toISOString()}` : "expiry unknown";
}

export async function login(env: Env, runner: Runner, deps: LoginDeps = {}): Promise<LoginOutcome> {
  const inputs = parseInputs(env);
  const jwt = await requestActionsIdToken(env, inputs.audience, deps.fetch, deps.retry);
  runner.mask(jwt);
  const subject = unverifiedClaims(jwt)?.["sub"];
  runner.info(`Got the job's OIDC token for audience ${inputs.audience}: sub ${typeof subject === "string" ? subject : "?"}, sha256 ${sha256Hex(jwt)}, ${describeExpiry(expiryOf(jwt))}`);

  const { registry } = inputs;
  const discovery = await discoverTokenEndpoint(registry, inputs, deps.fetch, deps.retry);
  const { probe } = discovery;
  if (probe.baseUrl !== registry.baseUrl) {
    runner.info(`${registry.baseUrl}/v2/ did not answer (TLS/connection failure); ${registry.host} is on loopback, so using ${probe.baseUrl} as docker does for insecure registries`);
  }
  if (discovery.found) {
    const { realm, service } = discovery.endpoint;
    runner.info(`Token server: ${realm.origin}${realm.pathname} (service ${service})`);
    if (discovery.challengeService !== undefined) runner.warning(`The service input "${service}" replaces the registry's challenge service "${discovery.challengeService}"`);
  } else noTokenServer(inputs, discovery);

  const refreshToken = await obtainRefreshToken(inputs, discovery, jwt, runner, deps);
  let entry: DockerAuthEntry;
  let expiresAt: Date | undefined;
  let stored: StoredCredential;
  if (refreshToken !== undefined) {
    runner.mask(refreshToken);
    entry = identityTokenEntry(inputs.provider, refreshToken);
    expiresAt = expiryOf(refreshToken);
    stored = { kind: "refresh-token", refreshToken };
  } else {
    entry = passwordEntry(inputs.provider, jwt);
    expiresAt = expiryOf(jwt);
    stored = { kind: "password", provider: inputs.provider, jwt };
  }
  runner.mask(entry.auth);
  // Nothing is written, not even state, until the registry has accepted the credential.
  await prove(discovery, stored, runner, deps);

  if (inputs.credentialHelper) return useHelper(env, inputs, discovery, runner, deps);

  const configPath = dockerConfigPath(env, deps.home);
  // State first: if writing fails halfway, post finds nothing of ours and leaves the file alone.
  if (inputs.logout) {
    runner.saveState(STATE.config, configPath);
    runner.saveState(STATE.registry, inputs.registry.host);
    runner.saveState(STATE.fingerprint, entryFingerprint(entry));
  } else runner.saveState(STATE.logout, "false");
  const result = addLogin(configPath, inputs.registry.host, entry);
  if (result.replaced) runner.warning(`Replaced the existing login for ${inputs.registry.host} in ${configPath}`);
  if (result.shadowedBy !== undefined) {
    runner.warning(`${configPath} sets ${result.shadowedBy}: docker asks that helper for ${inputs.registry.host} and will not use this login`);
  }

  runner.setOutput("registry", inputs.registry.host);
  runner.setOutput("expires-at", expiresAt?.toISOString() ?? "");
  const credential = refreshToken !== undefined ? "identitytoken" : "password";
  const how = credential === "identitytoken" ? "a refresh token" : "the OIDC token as password (later steps fail after it expires; a token server with refresh tokens avoids that)";
  const elapsed = deps.elapsedMs ? ` in ${Math.round(deps.elapsedMs())} ms` : "";
  runner.info(`Logged in to ${inputs.registry.host} as ${inputs.provider} with ${how}, ${describeExpiry(expiresAt)}; wrote ${configPath}${elapsed}`);
  return { host: inputs.registry.host, configPath, credential, ...(expiresAt && { expiresAt }) };
}

/** `credential-helper: true`, after the proof: the helper, not a static entry, answers for the registry in later steps. */
function useHelper(env: Env, inputs: ActionInputs, discovery: Discovery, runner: Runner, deps: LoginDeps): LoginOutcome {
  // refresh is required with the helper, so a token server was found and gave a refresh token.
  if (!discovery.found) throw new Error("unreachable: the credential helper without a token server");
  if (deps.helperBundle === undefined) throw new Error("the credential helper bundle is missing: dist/ must hold docker-credential-jwt-registry-auth beside main.mjs");
  const configPath = dockerConfigPath(env, deps.home);
  const helper = installHelper(
    { host: inputs.registry.host, provider: inputs.provider, audience: inputs.audience, endpoint: discovery.endpoint, bundle: deps.helperBundle, env, ...(deps.home !== undefined && { home: deps.home }) },
    runner,
  );
  if (inputs.logout) runner.saveState(STATE.helper, JSON.stringify(helper));
  else runner.saveState(STATE.logout, "false");
  runner.setOutput("registry", inputs.registry.host);
  // The helper mints a new refresh token whenever its cached one nears expiry: the login has no end within the job.
  runner.setOutput("expires-at", "");
  const elapsed = deps.elapsedMs ? ` in ${Math.round(deps.elapsedMs())} ms` : "";
  runner.info(`Logged in to ${inputs.registry.host} as ${inputs.provider} through the credential helper: later steps get fresh credentials for as long as the job runs${elapsed}`);
  return { host: inputs.registry.host, configPath, credential: "credential-helper" };
}
