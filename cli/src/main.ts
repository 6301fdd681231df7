/**
 * The operator CLI `jwt-registry-auth`: `keys …` (signing keys) and
 * `policy …` (providers and their CEL policies). Run as
 * `npm run cli -- …` or the `jwt-registry-auth` bin.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT_USAGE, processIo, type Io } from "./io.ts";
import { policyCommand } from "./policy/command.ts";

export const MAIN_HELP = `Usage: jwt-registry-auth <command> [options]

Commands:
  keys     signing keys and certificates for registry tokens
  policy   providers and their CEL policies: validate, apply, test, schema

Run 'jwt-registry-auth <command> --help' for a command's options.`;

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "keys": {
      // Loaded on demand: the policy commands don't need the key tooling, and vice versa.
      const { keysCommand } = await import("./keys/command.ts");
      return keysCommand(rest);
    }
    case "policy":
      return policyCommand(rest, io);
    case "--help":
    case "-h":
    case "help":
      io.out(MAIN_HELP);
      return 0;
    default:
      io.err(command === undefined ? MAIN_HELP : `error: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
      return EXIT_USAGE;
  }
}

/** True when this module is the program (tsx cli/src/main.ts), not imported by the bin or a test. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url);
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
