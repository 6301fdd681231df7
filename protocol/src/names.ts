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
  if (components.every((component) => PATH_COMPONENT.test(component))) return true;
  // Otherwise the first component may be a registry host (`localhost:5000/acme/app`), as in docker's references.
  const [first, ...rest] = components;
  return options.allowDomain === true && rest.length > 0 && DOMAIN.test(first as string) && rest.every((component) => PATH_COMPONENT.test(component));
}
