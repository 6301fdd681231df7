/**
 * The main step: get the job's OIDC token, turn it into the longest-lived
 * credential the token server will give (a refresh token, else the JWT itself
 * as the password), and write it into the docker config. Every secret is
 * masked before anything could print it.
 */
import { addLogin, dockerConfigPath, entryFingerprint, identityTokenEntry, passwordEntry, type DockerAuthEntry } from "./docker-config.ts";
import type { Fetch, RetryOptions } from "./http.ts";
import { parseInputs, type ActionInputs } from "./inputs.ts";
import { expiryOf, sha256Hex, unverifiedClaims } from "./jwt.ts";
import { requestActionsIdToken } from "./oidc.ts";
import type { Env, Runner } from "./runner.ts";
import { STATE } from "./state.ts";
import { discoverTokenEndpoint, fetchRefreshToken, TokenServerError, type RefreshTokenGrant } from "./token-server.ts";

export interface LoginDeps {
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
  /** Home directory for the default docker config path. */
  readonly home?: string;
  /** Milliseconds since the step started, for the timing line. */
  readonly elapsedMs?: () => number;
}

export interface LoginOutcome {
  readonly host: string;
  readonly configPath: string;
  readonly credential: "identitytoken" | "password";
  readonly expiresAt?: Date;
}

/** Refresh token when the token server is there and gives one; `undefined` means fall back to the JWT as password. */
async function obtainRefreshToken(inputs: ActionInputs, jwt: string, runner: Runner, deps: LoginDeps): Promise<string | undefined> {
  if (inputs.refresh === "off") return undefined;
  const fallBack = (why: string): undefined => {
    if (inputs.refresh === "required") throw new TokenServerError(`refresh is true but ${why}`);
    runner.warning(`No refresh token (${why}); logging in with the OIDC token as the password instead`);
    return undefined;
  };
  const discovery = await discoverTokenEndpoint(inputs.registry, inputs.tokenServer, deps.fetch, deps.retry);
  if (!discovery.found) return fallBack(`no token server found: ${discovery.reason}`);
  runner.info(`Token server: ${discovery.endpoint.realm.origin}${discovery.endpoint.realm.pathname} (service ${discovery.endpoint.service})`);
  let grant: RefreshTokenGrant;
  try {
    grant = await fetchRefreshToken(discovery.endpoint, inputs.provider, jwt, deps.fetch, deps.retry);
  } catch (error) {
    // A refusal means the JWT itself is not accepted: as a password it would fail later, less clearly.
    if (error instanceof TokenServerError && !error.refused) return fallBack(error.message);
    throw error;
  }
  return grant.refreshToken ?? fallBack(`the token server gave none (refresh tokens are off for provider "${inputs.provider}")`);
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

  const refreshToken = await obtainRefreshToken(inputs, jwt, runner, deps);
  let entry: DockerAuthEntry;
  let expiresAt: Date | undefined;
  if (refreshToken !== undefined) {
    runner.mask(refreshToken);
    entry = identityTokenEntry(inputs.provider, refreshToken);
    expiresAt = expiryOf(refreshToken);
  } else {
    entry = passwordEntry(inputs.provider, jwt);
    expiresAt = expiryOf(jwt);
  }
  runner.mask(entry.auth);

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
