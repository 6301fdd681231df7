/**
 * A registry as clients name it — `host[:port]` as in image names, or an
 * `http(s)://host[:port]` URL — turned into the docker config key and the base
 * URL to speak to. A loopback registry named without a scheme also gets a
 * plain-http fallback, docker's rule for its default insecure registries.
 */

export interface Registry {
  /** `host[:port]`: the docker config key and the default audience. */
  readonly host: string;
  /** Where `/v2/` is probed: `https://host` unless the address named `http://`. */
  readonly baseUrl: string;
  /**
   * `http://host`, tried when `https://host` fails at the TLS/connection level:
   * only for a loopback registry named without a scheme, which docker treats as
   * an insecure registry (https first, then plain http).
   */
  readonly httpFallback?: string;
}

export class AddressError extends Error {
  override readonly name = "AddressError";
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An http(s) URL without credentials or fragment; `label` starts every message ("input registry"). */
export function parseHttpUrl(label: string, value: string): URL {
  let url: URL;
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

/** `label` starts every message, e.g. "input registry" for the Action. */
export function parseRegistryAddress(value: string, label = "registry"): Registry {
  if (value === "") throw new AddressError(`${label} is required (e.g. registry.example.com or registry.example.com:5000)`);
  if (CONTROL.test(value) || /\s/.test(value)) throw new AddressError(`${label} must not contain whitespace`);
  const url = parseHttpUrl(label, value.includes("://") ? value : `https://${value}`);
  // A registry is a host: a path here usually means an image name was pasted, which docker config keys never carry.
  if (!["/", "/v2", "/v2/"].includes(url.pathname) || url.search !== "") {
    throw new AddressError(`${label}: expected a host[:port], not a path ("${value}")`);
  }
  const httpFallback = !value.includes("://") && isLoopbackHost(url.hostname) ? `http://${url.host}` : undefined;
  return { host: url.host, baseUrl: `${url.protocol}//${url.host}`, ...(httpFallback !== undefined && { httpFallback }) };
}

/** localhost, 127.0.0.0/8 and ::1: what docker treats as insecure registries by default. `URL` has already normalised the name. */
export const isLoopbackHost = (hostname: string): boolean => hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
