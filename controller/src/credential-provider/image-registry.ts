/**
 * The registry host of an image reference, by the docker reference rules:
 * the first path component is a registry only if it has a `.` or a `:` or is
 * `localhost`; otherwise the image is on Docker Hub.
 */
const HOST = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/;
const PATH = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

export function registryOf(image: string): string | undefined {
  const slash = image.indexOf("/");
  const first = slash >= 0 ? image.slice(0, slash) : "";
  const isRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = isRegistry ? first : "docker.io";
  const path = isRegistry ? image.slice(slash + 1) : image;
  if (!HOST.test(host) || !PATH.test(path)) return undefined;
  return host.toLowerCase();
}

/** A `--registry` value as the registry host registryOf gives (lowercase host[:port]), or undefined if it isn't one. */
export function registryHost(text: string): string | undefined {
  return HOST.test(text) ? text.toLowerCase() : undefined;
}
