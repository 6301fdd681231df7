/**
 * The OCI distribution-spec repository name grammar
 * (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`),
 * plus Distribution's 255-character limit on the whole name.
 */
export const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
// A registry host as docker's reference grammar has it: dotted labels, optional port.
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;

export interface NameOptions {
  /** Accept a leading `host[:port]/` component, as scopes may carry one. */
  readonly allowDomain?: boolean;
}

export function isValidRepositoryName(name: string, options: NameOptions = {}): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  const components = name.split("/");
  const first = components[0] as string;
  // Docker's rule: the first component is a domain only if it has a '.' or ':' or is localhost.
  const firstIsDomain =
    options.allowDomain === true && components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (firstIsDomain) {
    if (!DOMAIN.test(first)) return false;
    components.shift();
  }
  return components.every((component) => PATH_COMPONENT.test(component));
}
