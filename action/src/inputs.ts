/**
 * The Action's inputs, turned into one typed object. Everything the user typed
 * is checked here so the rest of the Action never sees a malformed value.
 */
import { getInput, type Env } from "./runner.ts";

export interface Registry {
  /** `host[:port]`: the docker config key and the default audience. */
  readonly host: string;
  /** Where `/v2/` is probed: `https://host` unless the input named `http://`. */
  readonly baseUrl: string;
  /**
   * `http://host`, tried when `https://host` fails at the TLS/connection level:
   * only for a loopback registry named without a scheme, which docker treats as
   * an insecure registry (https first, then plain http).
   */
  readonly httpFallback?: string;
}

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
}

export class InputError extends Error {
  override readonly name = "InputError";
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function parseHttpUrl(input: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`input ${input}: "${value}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new InputError(`input ${input}: only http(s) URLs are supported, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "") throw new InputError(`input ${input}: credentials in the URL are not allowed`);
  if (url.hash !== "") throw new InputError(`input ${input}: a URL fragment is not allowed`);
  return url;
}

export function parseRegistry(value: string): Registry {
  if (value === "") throw new InputError("input registry is required (e.g. registry.example.com or registry.example.com:5000)");
  if (CONTROL.test(value) || /\s/.test(value)) throw new InputError("input registry must not contain whitespace");
  const url = parseHttpUrl("registry", value.includes("://") ? value : `https://${value}`);
  // A registry is a host: a path here usually means an image name was pasted, which docker config keys never carry.
  if (!["/", "/v2", "/v2/"].includes(url.pathname) || url.search !== "") {
    throw new InputError(`input registry: expected a host[:port], not a path ("${value}")`);
  }
  const httpFallback = !value.includes("://") && isLoopbackHost(url.hostname) ? `http://${url.host}` : undefined;
  return { host: url.host, baseUrl: `${url.protocol}//${url.host}`, ...(httpFallback !== undefined && { httpFallback }) };
}

/** localhost, 127.0.0.0/8 and ::1: what docker treats as insecure registries by default. `URL` has already normalised the name. */
export const isLoopbackHost = (hostname: string): boolean => hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);

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
  const refresh = parseRefresh(getInput(env, "refresh"));
  const logoutInput = getInput(env, "logout");
  const logout = logoutInput === "" ? true : parseBoolean("logout", logoutInput);
  return { registry, provider, audience, ...(tokenServer && { tokenServer }), ...(service !== "" && { service }), refresh, logout };
}
