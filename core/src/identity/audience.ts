/**
 * Which `aud` values a provider accepts for the requested service: the rule
 * that ties a workload token to the registry it was minted for, so that a
 * token for registry A (or for another relying party, e.g. `sigstore`) can't
 * buy a registry token for service B.
 *
 * - No `audiences` configured: the service itself or `https://` + service.
 * - `audiences` configured: an audience that *names a service* is good for
 *   that service only. It names service X when it is X or `https://X` for the
 *   requested service or one of ALLOWED_SERVICES, or when it is a host name
 *   (with a dot or a port; optionally as `https://host[:port]`, or http), which names
 *   the service of that name. If some configured audience names the requested
 *   service, only those are accepted; otherwise only the audiences that name
 *   no service at all (e.g. GitHub's default `https://github.com/OWNER`,
 *   or a token-server identifier like `jwt-registry-auth`), which say nothing
 *   about the registry: for those, ALLOWED_SERVICES is what bounds the service.
 */

/** A host with a dot or a port, or a bracketed IPv6 address; optionally as an http(s) origin. */
const HOST_AUDIENCE = /^(?:https?:\/\/)?((?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:[0-9]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?)\/?$/;

function serviceNamedBy(audience: string, knownServices: readonly string[]): string | undefined {
  for (const service of knownServices) {
    if (audience === service || audience === `https://${service}`) return service;
  }
  return HOST_AUDIENCE.exec(audience)?.[1];
}

export function acceptedAudiences(configured: readonly string[], service: string, allowedServices?: ReadonlySet<string>): string[] {
  if (service === "") return [];
  if (configured.length === 0) return [service, `https://${service}`];
  const known = [service, ...(allowedServices ?? [])];
  const named = configured.map((audience) => ({ audience, service: serviceNamedBy(audience, known) }));
  const forService = named.filter((n) => n.service === service);
  const chosen = forService.length > 0 ? forService : named.filter((n) => n.service === undefined);
  return chosen.map((n) => n.audience);
}
