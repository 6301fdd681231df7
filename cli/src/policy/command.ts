/**
 * `jwt-registry-auth policy …`: validate, apply, test and schema.
 */
import { providersConfigSchemaJson } from "@jwt-registry-auth/core/providers/schema";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandArgs, UsageError, wantsHelp, withUsage, type Io } from "../io.ts";
import { applyPolicyFileLocal, applyPolicyFileRemote } from "./apply.ts";
import { InvalidPolicyFileError, printDiagnostics } from "./load.ts";
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
  apply FILE (--local|--remote) [--config wrangler.toml] [--database POLICY_DB] [--persist-to DIR]
                            validate, then replace all providers in D1 at once
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

const APPLY_HELP = `Usage: jwt-registry-auth policy apply FILE (--local|--remote) [options]

Validates FILE (nothing is written if it has errors), then replaces every
provider and bumps the policy version in one transaction, which also records
the version (time, file hash, text, providers) for 'policy history' and
'policy rollback'. Running token servers pick the change up within seconds.
Run 'policy diff FILE' first to see what it will change.

  --local            the local D1 that 'wrangler dev' reads (migrations are applied if missing)
  --remote           the deployed D1, via 'wrangler d1 execute --remote --file'
  --config PATH      wrangler config (default wrangler.toml)
  --database NAME    D1 binding or database name (default POLICY_DB)
  --persist-to DIR   local state directory, as 'wrangler dev --persist-to DIR' (default .wrangler/state beside the config)`;

const SCHEMA_HELP = `Usage: jwt-registry-auth policy schema

Prints the JSON Schema of the providers file (docs/providers.schema.json).`;

async function applyCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      local: { type: "boolean" },
      remote: { type: "boolean" },
      config: { type: "string" },
      database: { type: "string" },
      "persist-to": { type: "string" },
    },
    { min: 1, max: 1, names: "FILE" },
  );
  if (values.local === values.remote) throw new UsageError("give exactly one of --local and --remote");
  if (values.remote && values["persist-to"] !== undefined) throw new UsageError("--persist-to is for --local");
  const file = positionals[0] as string;
  const target = {
    file,
    ...(values.config !== undefined && { wranglerConfig: values.config }),
    ...(values.database !== undefined && { database: values.database }),
  };
  try {
    if (values.remote) {
      const { result, exitCode } = applyPolicyFileRemote(target);
      printDiagnostics(io, { providers: [], errors: [], warnings: result.warnings });
      if (exitCode !== 0) {
        io.err(`error: wrangler d1 execute --remote failed (exit ${exitCode}); nothing was applied by this command`);
        return EXIT_FAILED;
      }
      io.out(`applied ${result.providers.length} provider(s) to the remote D1: ${result.providers.join(", ")}`);
      return EXIT_OK;
    }
    const result = await applyPolicyFileLocal({ ...target, ...(values["persist-to"] !== undefined && { persistTo: values["persist-to"] }) });
    printDiagnostics(io, { providers: [], errors: [], warnings: result.warnings });
    io.out(`applied ${result.providers.length} provider(s) to the local D1 (policy version ${result.version ?? "?"}): ${result.providers.join(", ")}`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof InvalidPolicyFileError) {
      printDiagnostics(io, { providers: [], warnings: [], errors: e.errors });
      io.err(`${file}: not applied: the file has errors`);
      return EXIT_FAILED;
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_FAILED;
  }
}

async function schemaCommand(argv: readonly string[], io: Io): Promise<number> {
  parseCommandArgs(argv, {}, { min: 0, max: 0, names: "" });
  io.out(providersConfigSchemaJson().trimEnd());
  return EXIT_OK;
}

const SUBCOMMANDS: Readonly<Record<string, { help: string; run: (argv: readonly string[], io: Io) => Promise<number> }>> = {
  validate: { help: VALIDATE_HELP, run: policyValidateCommand },
  apply: { help: APPLY_HELP, run: applyCommand },
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
