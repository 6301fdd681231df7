/**
 * The Action's inputs, turned into one typed object. Everything the user typed
 * is checked here so the rest of the Action never sees a malformed value.
 */
import { AddressError, parseHttpUrl as parseUrl, parseRegistryAddress, type Registry } from "@jwt-registry-auth/client/registry-address";
import { getInput, type Env } from "./runner.ts";

export type { Registry } from "@jwt-registry-auth/client/registry-address";

/** `auto`: use refresh tokens when the token server can be found, else fall back to the JWT as password. */
export type RefreshMode = "auto" | "required" | "off";

export interface ActionInputs {
  readonly registry: Registry;
  /** The token server provider name, sent as the Basic username. */
  readonly provider: string;
  readonly audience: string;
  /** The token endpoint, when given rather than discovered from the registry's challenge. */
  readonly tokenServer?: URL;
  /** The token server's `service` for this registry, when given rather than read from the challenge. */
  readonly service?: string;
  readonly refresh: RefreshMode;
  readonly logout: boolean;
  /** Install and configure docker-credential-jwt-registry-auth instead of writing a static identitytoken. */
  readonly credentialHelper: boolean;
}

export class InputError extends Error {
  override readonly name = "InputError";
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The shared parser's errors, as input errors (same messages: they start with "input NAME"). */
function asInputError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(error.message);
    throw error;
  }
}

const parseHttpUrl = (input: string, value: string): URL => asInputError(() => parseUrl(`input ${input}`, value));

export function parseRegistry(value: string): Registry {
  return asInputError(() => parseRegistryAddress(value, "input registry"));
}

function parseProvider(env: Env): string {
  const provider = getInput(env, "provider");
  const username = getInput(env, "username");
  if (provider !== "" && username !== "" && provider !== username) {
    throw new InputError(`inputs provider ("${provider}") and username ("${username}") disagree; username is only an alias of provider, set one`);
  }
  const name = provider || username;
  if (name === "") throw new InputError("input provider is required: the token server provider name (e.g. github-actions)");
  // It is the Basic-auth username: a colon would split it, and control characters have no place in a header.
  if (name.includes(":") || CONTROL.test(name)) throw new InputError("input provider must not contain ':' or control characters");
  return name;
}

/** YAML 1.2 core-schema booleans, as `@actions/core`'s getBooleanInput accepts them. */
function parseBoolean(name: string, value: string): boolean {
  if (["true", "True", "TRUE"].includes(value)) return true;
  if (["false", "False", "FALSE"].includes(value)) return false;
  throw new InputError(`input ${name}: expected true or false, got "${value}"`);
}

function parseRefresh(value: string): RefreshMode {
  if (value === "" || value === "auto") return "auto";
  return parseBoolean("refresh", value) ? "required" : "off";
}

function parseTokenServer(value: string): URL | undefined {
  if (value === "") return undefined;
  const url = parseHttpUrl("token-server", value);
  // A bare origin means the token server's standard endpoint.
  if (url.pathname === "/") url.pathname = "/token";
  return url;
}

export function parseInputs(env: Env): ActionInputs {
  const registry = parseRegistry(getInput(env, "registry"));
  const provider = parseProvider(env);
  const audience = getInput(env, "audience") || registry.host;
  if (CONTROL.test(audience)) throw new InputError("input audience must not contain control characters");
  const tokenServer = parseTokenServer(getInput(env, "token-server"));
  const service = getInput(env, "service");
  // It goes into a query string and a form field; no registry's service name has whitespace.
  if (CONTROL.test(service) || /\s/.test(service)) throw new InputError("input service must not contain whitespace or control characters");
  let refresh = parseRefresh(getInput(env, "refresh"));
  const logoutInput = getInput(env, "logout");
  const logout = logoutInput === "" ? true : parseBoolean("logout", logoutInput);
  const helperInput = getInput(env, "credential-helper");
  const credentialHelper = helperInput === "" ? false : parseBoolean("credential-helper", helperInput);
  if (credentialHelper) {
    // The helper trades the job's OIDC token for refresh tokens: without a token server that gives them it has nothing to hand docker.
    if (refresh === "off") throw new InputError("inputs credential-helper: true and refresh: false contradict each other: the credential helper hands out refresh tokens; drop one of them");
    refresh = "required";
  }
  return { registry, provider, audience, ...(tokenServer && { tokenServer }), ...(service !== "" && { service }), refresh, logout, credentialHelper };
}
