/**
 * `configure HOST…`: points `credHelpers[HOST]` at `jwt-registry-auth` in
 * docker's config.json and in containers' auth.json (podman, skopeo, buildah),
 * keeping every other entry; each file is replaced atomically. The registries'
 * settings themselves live in helper.json (config.ts).
 */
import { homedir } from "node:os";
import { addCredentialHelper, credentialHelperFiles } from "@jwt-registry-auth/client/docker-config";
import type { Env } from "@jwt-registry-auth/client/env";
import { registryOf } from "./get.ts";

export { containersAuthPath } from "@jwt-registry-auth/client/docker-config";

export const CONFIGURE_USAGE = "usage: docker-credential-jwt-registry-auth configure HOST[:PORT]…";

export interface ConfigureResult {
  readonly files: readonly string[];
  /** `file: host (was helper)` where credHelpers[host] named another helper before. */
  readonly replaced: readonly string[];
}

export function configure(hosts: readonly string[], env: Env, home: string = homedir()): ConfigureResult {
  if (hosts.length === 0) throw new Error(`configure: name at least one registry\n${CONFIGURE_USAGE}`);
  const names = hosts.map((host) => registryOf(host).host);
  const files = credentialHelperFiles(env, home);
  const replaced: string[] = [];
  for (const file of files) {
    for (const host of names) {
      const result = addCredentialHelper(file, host);
      if (result.replaced !== undefined) replaced.push(`${file}: ${host} (was ${result.replaced})`);
    }
  }
  return { files, replaced };
}
