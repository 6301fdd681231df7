/**
 * A registry as image references name it (`host[:port]`), and where its API is
 * reached. Without a scheme docker speaks https, except to the registries it
 * treats as insecure by default — `localhost`, 127.0.0.0/8 and ::1 (dockerd's
 * built-in insecure CIDRs) — which it tries over https first and then, when the
 * TLS handshake fails, over plain http. Every client here does the same.
 */

export interface RegistryAddress {
  /** `host[:port]`: the key of docker config entries and `credHelpers`. */
  readonly host: string;
  /** Set when the user wrote `http://` or `https://`: only that is tried. */
  readonly scheme?: "http" | "https";
}

export class RegistryAddressError extends Error {
  override readonly name = "RegistryAddressError";
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;

/**
 * Parses `host[:port]`, `http(s)://host[:port]` or a server URL as docker hands
 * one to a credential helper (`https://host/v1/`, `host/v2/`). Paths other than
 * `/v1/`, `/v2/` are refused: a registry is a host, and a pasted image name is a mistake.
 */
export function parseRegistryAddress(value: string): RegistryAddress {
  if (value === "") throw new RegistryAddressError("a registry is required (e.g. registry.example.com or registry.example.com:5000)");
  if (CONTROL_OR_SPACE.test(value)) throw new RegistryAddressError("a registry must not contain whitespace or control characters");
  const explicit = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  let url: URL;
  try {
    url = new URL(explicit !== undefined ? value : `https://${value}`);
  } catch {
    throw new RegistryAddressError(`"${value}" is not a registry host`);
  }
  if (explicit !== undefined && explicit !== "http" && explicit !== "https") throw new RegistryAddressError(`only http(s) registries are supported, got ${explicit}://`);
  if (url.username !== "" || url.password !== "") throw new RegistryAddressError("credentials in the registry URL are not allowed");
  if (!["/", "/v1", "/v1/", "/v2", "/v2/"].includes(url.pathname) || url.search !== "" || url.hash !== "") {
    throw new RegistryAddressError(`expected a host[:port], not a path ("${value}")`);
  }
  return { host: url.host, ...(explicit !== undefined && { scheme: explicit as "http" | "https" }) };
}

/** `localhost`, 127.0.0.0/8 or ::1, with any port: what docker treats as an insecure registry unless told otherwise. */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase();
  if (name === "localhost" || name === "[::1]" || name === "::1") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

const hostnameOf = (host: string): string => new URL(`http://${host}`).hostname;

/** The base URLs to probe, in order: the named scheme only, else https, plus http for a loopback registry. */
export function baseUrlsToTry(address: RegistryAddress): string[] {
  if (address.scheme !== undefined) return [`${address.scheme}://${address.host}`];
  const https = `https://${address.host}`;
  return isLoopbackHost(hostnameOf(address.host)) ? [https, `http://${address.host}`] : [https];
}

