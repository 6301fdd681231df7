/**
 * `jwt-registry-auth policy …`: validate, apply, test and schema.
 */
import { providersConfigSchemaJson } from "@jwt-registry-auth/core/providers/schema";
import { EXIT_OK, EXIT_USAGE, parseCommandArgs, wantsHelp, withUsage, type Io } from "../io.ts";
import { APPLY_HELP, policyApplyCommand } from "./apply.ts";
import { policyTestCommand, TEST_HELP } from "./test-command.ts";
import { policyValidateCommand, VALIDATE_HELP } from "./validate.ts";
import { policyReplayCommand, REPLAY_HELP } from "./replay.ts";
import { INIT_HELP, policyInitCommand } from "./init.ts";
import { DIFF_HELP, policyDiffCommand } from "./diff.ts";
import { HISTORY_HELP, policyHistoryCommand } from "./history.ts";
import { policyRollbackCommand, ROLLBACK_HELP } from "./rollback.ts";

export const POLICY_HELP = `Usage: jwt-registry-auth policy <command> [options]

Commands:
  validate FILE [--strict]  check a providers file; errors and warnings name file:line
  apply FILE (--local|--remote) [--yes] [--config wrangler.toml] [--database POLICY_DB] [--persist-to DIR]
                            validate, show the changes, ask (or --yes), then replace all providers in D1 at once
  diff FILE (--local|--remote) [--exit-code]
                            what applying FILE would change, per provider
  history (--local|--remote) [--show VERSION]
                            the recorded policy versions
  rollback VERSION (--local|--remote)
                            restore a recorded version all-or-nothing
  replay FILE --log LOG     which logged token requests FILE would decide differently (exit 3 if any)
  test FILE --service S (--claims JSON|@FILE | --token JWT) --scope SCOPE … [--expect allow|deny]
  test FILE --cases CASES.yaml
                            what the token server decides, check by check (exit 3 if not as expected)
  schema                    print the JSON Schema of the providers file
  init PLATFORM --name NAME --owner-id ID|--namespace-id ID|--organization-id ID|--org-id ID …
                            a starter file (github, gitlab, buildkite, circleci, bitbucket, terraform, kubernetes) with the owner pinned

Run 'jwt-registry-auth policy <command> --help' for a command's options.`;

const SCHEMA_HELP = `Usage: jwt-registry-auth policy schema

Prints the JSON Schema of the providers file (docs/providers.schema.json).`;

async function schemaCommand(argv: readonly string[], io: Io): Promise<number> {
  parseCommandArgs(argv, {}, { min: 0, max: 0, names: "" });
  io.out(providersConfigSchemaJson().trimEnd());
  return EXIT_OK;
}

const SUBCOMMANDS: Readonly<Record<string, { help: string; run: (argv: readonly string[], io: Io) => Promise<number> }>> = {
  validate: { help: VALIDATE_HELP, run: policyValidateCommand },
  apply: { help: APPLY_HELP, run: policyApplyCommand },
  diff: { help: DIFF_HELP, run: policyDiffCommand },
  history: { help: HISTORY_HELP, run: policyHistoryCommand },
  rollback: { help: ROLLBACK_HELP, run: policyRollbackCommand },
  replay: { help: REPLAY_HELP, run: policyReplayCommand },
  test: { help: TEST_HELP, run: policyTestCommand },
  schema: { help: SCHEMA_HELP, run: schemaCommand },
  init: { help: INIT_HELP, run: policyInitCommand },
};

export async function policyCommand(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.err : io.out)(POLICY_HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const sub = SUBCOMMANDS[name];
  if (sub === undefined) {
    io.err(`error: unknown policy command ${JSON.stringify(name)}\n`);
    io.err(POLICY_HELP);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    io.out(sub.help);
    return EXIT_OK;
  }
  return withUsage(io, sub.help, () => sub.run(rest, io));
}
