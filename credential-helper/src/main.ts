/**
 * `docker-credential-jwt-registry-auth`: the docker credential-helper protocol
 * (`get`, `store`, `erase`, `list`), as docker, buildx/BuildKit, podman,
 * skopeo and containers-image call it through `credHelpers`, plus `configure`
 * and `version`. Only the protocol's JSON goes to stdout; every error is one
 * line on stderr and a non-zero exit. Bundled to
 * dist/docker-credential-jwt-registry-auth.mjs.
 */
import { homedir } from "node:os";
import { eraseCache, cacheDir, cachePath } from "./cache.ts";
import { loadHelperConfig } from "./config.ts";
import { configure, CONFIGURE_USAGE, parseConfigureArgs } from "./configure.ts";
import { getCredential, IDENTITY_TOKEN_USERNAME, registryHostOf } from "./get.ts";
import type { Env } from "./client/env.ts";
import { HELPER_VERSION } from "./version.ts";

export interface Io {
  readonly env: Env;
  readonly home?: string;
  readonly readStdin: () => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const USAGE = `usage: docker-credential-jwt-registry-auth get|store|erase|list|configure|version
  get, store, erase, list: docker's credential-helper protocol (server URL or JSON on stdin)
${CONFIGURE_USAGE}`;

/** docker sends at most a URL or a small JSON document; more is not a credential-helper call. */
const MAX_STDIN = 64 * 1024;

function serverUrlFrom(stdin: string): string {
  if (stdin.length > MAX_STDIN) throw new Error("stdin is too large for a server URL");
  const url = stdin.trim();
  if (url === "") throw new Error("expected a registry server URL on stdin");
  return url;
}

async function run(command: string | undefined, args: readonly string[], io: Io): Promise<void> {
  const home = io.home ?? homedir();
  switch (command) {
    case "get": {
      const serverUrl = serverUrlFrom(await io.readStdin());
      const credential = await getCredential(serverUrl, loadHelperConfig(io.env, home), { env: io.env, home });
      io.stdout(JSON.stringify(credential));
      return;
    }
    case "store":
      // docker login stores what it was given; this helper mints its own, so there is nothing to keep.
      await io.readStdin();
      return;
    case "erase": {
      const host = registryHostOf(serverUrlFrom(await io.readStdin()));
      const config = loadHelperConfig(io.env, home);
      const registry = config.registries.get(host);
      if (registry !== undefined) eraseCache(cachePath(cacheDir(io.env, home, config.cacheDir), host, registry.provider));
      return;
    }
    case "list": {
      const config = loadHelperConfig(io.env, home);
      io.stdout(JSON.stringify(Object.fromEntries([...config.registries.keys()].map((host) => [host, IDENTITY_TOKEN_USERNAME]))));
      return;
    }
    case "configure": {
      const result = configure(parseConfigureArgs(args), io.env, home);
      io.stdout(`configured: ${result.helperConfig}\ncredHelpers: ${result.dockerConfig}${result.containersAuth !== result.dockerConfig ? `, ${result.containersAuth}` : ""}\n`);
      for (const replaced of result.replaced) io.stderr(`replaced another credential helper in ${replaced}\n`);
      return;
    }
    case "version":
      io.stdout(`docker-credential-jwt-registry-auth ${HELPER_VERSION}\n`);
      return;
    default:
      throw new Error(command === undefined ? USAGE : `unknown command "${command}"\n${USAGE}`);
  }
}

/** Runs one command; returns the exit code. Errors never carry a token: every message names tokens only by where they come from. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    await run(argv[0], argv.slice(1), io);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // One line per message line, each prefixed, so a CI log shows whose error it is.
    io.stderr(`${message.split("\n").map((line) => `docker-credential-jwt-registry-auth: ${line}`).join("\n")}\n`);
    return 1;
  }
}
