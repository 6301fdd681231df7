/** Flags and environment of the credential provider (the kubelet passes both from its CredentialProviderConfig). */
import { parseArgs } from "node:util";
import { PROVIDER_ANNOTATION } from "../annotations.ts";
import { parseDuration } from "../duration.ts";
import { registryHost } from "./image-registry.ts";
import { CACHE_KEY_TYPES, ProviderError, type CacheKeyType, type ProviderOptions } from "./provider.ts";

export const USAGE = `Usage: jwt-registry-auth-credential-provider --registry HOST[,HOST…] [--username NAME] [flags] < CredentialProviderRequest

Answers a kubelet CredentialProviderRequest (credentialprovider.kubelet.k8s.io/v1)
with the pod's service-account token as the registry password.

  --username NAME            token server provider name (env JWT_REGISTRY_AUTH_USERNAME);
                             the ServiceAccount annotation overrides it
  --username-annotation KEY  ServiceAccount annotation holding the username
                             (default ${PROVIDER_ANNOTATION}; list it in the config's
                             optionalServiceAccountAnnotationKeys)
  --registry HOST[,HOST…]    required: the registries (host[:port], as in the image
                             reference) to answer for; repeatable. An image on any other
                             registry is refused, so a broad matchImages never sends a
                             pod's token elsewhere
  --cache-key-type TYPE      Image, Registry or Global (default Registry)
  --cache-margin DUR         cache for the token's remaining lifetime minus this (default 60s)
`;

export function parseProviderArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ProviderOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        username: { type: "string" },
        "username-annotation": { type: "string" },
        registry: { type: "string", multiple: true },
        "cache-key-type": { type: "string" },
        "cache-margin": { type: "string" },
      },
    }));
  } catch (error) {
    throw new ProviderError((error as Error).message);
  }
  const cacheKeyType = (values["cache-key-type"] as string | undefined) ?? "Registry";
  if (!(CACHE_KEY_TYPES as readonly string[]).includes(cacheKeyType)) throw new ProviderError(`--cache-key-type: expected Image, Registry or Global, got ${JSON.stringify(cacheKeyType)}`);
  const margin = parseDuration((values["cache-margin"] as string | undefined) ?? "60s");
  if (margin === undefined) throw new ProviderError(`--cache-margin: invalid duration ${JSON.stringify(values["cache-margin"])}`);
  const username = (values["username"] as string | undefined) ?? env["JWT_REGISTRY_AUTH_USERNAME"];
  const registries = ((values["registry"] as string[] | undefined) ?? []).flatMap((list) => list.split(",")).map((r) => r.trim());
  if (registries.length === 0) {
    throw new ProviderError("--registry is required: name the registries this provider answers for (repeatable, or comma-separated); without it a pod's token would go to any registry the kubelet's matchImages sends here");
  }
  const invalid = registries.find((r) => registryHost(r) === undefined);
  if (invalid !== undefined) throw new ProviderError(`--registry: ${JSON.stringify(invalid)} is not a registry host[:port]`);
  return {
    ...(username !== undefined && username !== "" && { username }),
    usernameAnnotation: (values["username-annotation"] as string | undefined) ?? PROVIDER_ANNOTATION,
    cacheKeyType: cacheKeyType as CacheKeyType,
    registries: [...new Set(registries.map((r) => r.toLowerCase()))],
    cacheMarginSeconds: Math.floor(margin / 1000),
  };
}
