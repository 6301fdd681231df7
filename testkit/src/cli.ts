/** Runs the operator CLI (`npm run cli -- …`) the way an operator does, from the repo root. */
import { runCommand, type CommandResult } from "./process.ts";
import { redactSecrets } from "./redact.ts";
import { REPO_ROOT } from "./repo-root.ts";
import { wranglerEnv } from "./wrangler.ts";

/** `jwt-registry-auth ARGS…`; throws with its output when it exits non-zero. */
export async function runCli(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  const result = await runCommand(process.execPath, ["--import", "tsx", "cli/src/main.ts", ...args], {
    cwd: REPO_ROOT,
    // The CLI's --local commands run wrangler/Miniflare: same offline settings.
    env: wranglerEnv(),
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  if (result.code !== 0) throw new Error(`jwt-registry-auth ${args.slice(0, 2).join(" ")} failed (${result.code}):\n${redactSecrets(`${result.stdout}\n${result.stderr}`)}`);
  return result;
}
