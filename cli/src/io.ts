/**
 * Plumbing every CLI command shares: where output goes (so tests can capture
 * it), exit codes, and strict option parsing where a mistake is a usage error
 * (exit 2) with the command's help, never a stack trace.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /**
   * Asks the operator a question and resolves to the answered line. Present
   * only when someone can answer (stdin is a terminal): a command that needs
   * confirmation and finds no `ask` must refuse, not assume yes.
   */
  readonly ask?: (question: string) => Promise<string>;
}

async function askTerminal(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  ...(process.stdin.isTTY === true && { ask: askTerminal }),
};

export const EXIT_OK = 0;
/** The command ran and found a problem (invalid file, failed apply). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedCommandArgs<O extends Options> {
  readonly values: ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>["values"];
  readonly positionals: string[];
}

/** Parses argv strictly: unknown options, missing values and wrong positional counts are UsageErrors. */
export function parseCommandArgs<const O extends Options>(argv: readonly string[], options: O, positionals: { min: number; max: number; names: string }): ParsedCommandArgs<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    throw new UsageError(count < positionals.min ? `missing ${positionals.names}` : `unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  }
  return parsed;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Runs a subcommand body, turning a UsageError into its message, the help, and exit 2. */
export async function withUsage(io: Io, help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`error: ${e.message}\n`);
    io.err(help);
    return EXIT_USAGE;
  }
}
