/** Entry point of `runs.post`: bundled to `dist/post.mjs`. */
import { logout } from "./logout.ts";
import { githubRunner } from "./runner.ts";
import { runStep } from "./step.ts";

const runner = githubRunner(process.env);
await runStep(runner, () => logout(process.env, runner));
