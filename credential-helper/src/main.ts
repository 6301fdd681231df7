/**
 * `docker-credential-jwt-registry-auth`: the docker credential-helper protocol
 * (`get`, `store`, `erase`, `list`), as docker, buildx/BuildKit, podman,
 * skopeo and containers-image call it through `credHelpers`, plus
 * `configure`. Only the protocol's JSON goes to stdout; every error is one
 * line on stderr and a non-zero exit. Bundled to
 * dist/docker-credential-jwt-registry-auth.mjs.
 */
import { homedir } from "node:os";
import type { Env } from "@jwt-registry-auth/client/env";
import type { Fetch, RetryOptions } from "@jwt-registry-auth/client/http";
import { eraseCache } from "./cache.ts";
import { loadHelperConfig } from "./config.ts";
import { configure, CONFIGURE_USAGE } from "./configure.ts";
import { cacheFileFor, getCredential, IDENTITY_TOKEN_USERNAME, registryOf } from "./get.ts";

export interface Io {
  readonly env: Env;
  readonly home?: string;
  readonly readStdin: () => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly fetch?: Fetch;
  readonly retry?: RetryOptions;
}

const USAGE = `usage: docker-credential-jwt-registry-auth get|store|erase|list|configure
  get, store, erase, list: docker's credential-helper protocol (server URL or JSON on stdin)
${CONFIGURE_USAGE}`;

/** docker sends a URL or a small JSON document; more is not a credential-helper call. */
const MAX_STDIN = 64 * 1024;

/** What docker writes to `get` and `erase`: the server URL, one line. */
function serverUrlFrom(stdin: string): string {
  if (stdin.length > MAX_STDIN) throw new Error("stdin is too large for a registry server URL");
  const url = stdin.trim();
  if (url === "") throw new Error("expected a registry server URL on stdin");
  if (/\s/.test(url)) throw new Error("expected one registry server URL on stdin, got several words or lines");
  return url;
}

async function run(command: string | undefined, args: readonly string[], io: Io): Promise<void> {
  const home = io.home ?? homedir();
  switch (command) {
    case "get": {
      const serverUrl = serverUrlFrom(await io.readStdin());
      const credential = await getCredential(serverUrl, loadHelperConfig(io.env, home), {
        env: io.env,
        home,
        ...(io.fetch && { fetch: io.fetch }),
        ...(io.retry && { retry: io.retry }),
      });
      io.stdout(`${JSON.stringify(credential)}\n`);
      return;
    }
    case "store":
      // docker login hands over what it was given; this helper mints its own, so there is nothing to keep.
      await io.readStdin();
      return;
    case "erase": {
      // `docker logout`: forget the cached refresh token; the next get mints a new one.
      const host = registryOf(serverUrlFrom(await io.readStdin())).host;
      const config = loadHelperConfig(io.env, home);
      const registry = config.registries.get(host);
      if (registry !== undefined) eraseCache(cacheFileFor(config, host, registry.provider, { env: io.env, home }));
      return;
    }
    case "list": {
      const config = loadHelperConfig(io.env, home);
      io.stdout(`${JSON.stringify(Object.fromEntries([...config.registries.keys()].map((host) => [host, IDENTITY_TOKEN_USERNAME])))}\n`);
      return;
    }
    case "configure": {
      const result = configure(args, io.env, home);
      io.stdout(`credHelpers set to jwt-registry-auth for ${args.join(", ")} in ${result.files.join(" and ")}\n`);
      for (const replaced of result.replaced) io.stderr(`replaced another credential helper: ${replaced}\n`);
      return;
    }
    default:
      throw new Error(command === undefined ? USAGE : `unknown command "${command}"\n${USAGE}`);
  }
}

/** Runs one command; returns the exit code. Messages never carry a token: they name tokens only by where they come from. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    await run(argv[0], argv.slice(1), io);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // One line, prefixed, so a CI log shows whose error it is; the usage text is the only multi-line message.
    io.stderr(`${message.split("\n").map((line) => `docker-credential-jwt-registry-auth: ${line}`).join("\n")}\n`);
    return 1;
  }
}
