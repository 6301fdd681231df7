/** Entry point of `runs.main`: bundled to `dist/main.mjs`. */
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { HELPER_BIN } from "./helper.ts";
import { login } from "./login.ts";
import { githubRunner } from "./runner.ts";
import { runStep } from "./step.ts";

const runner = githubRunner(process.env);
// performance.now() counts from process start, so this includes loading the bundle.
await runStep(runner, () => login(process.env, runner, { elapsedMs: () => performance.now(), helperBundle: fileURLToPath(new URL(HELPER_BIN, import.meta.url)) }));
