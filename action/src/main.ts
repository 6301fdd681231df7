/** Entry point of `runs.main`: bundled to `dist/main.mjs`. */
import { performance } from "node:perf_hooks";
import { login } from "./login.ts";
import { githubRunner } from "./runner.ts";
import { runStep } from "./step.ts";

const runner = githubRunner(process.env);
// performance.now() counts from process start, so this includes loading the bundle.
await runStep(runner, () => login(process.env, runner, { elapsedMs: () => performance.now() }));
