/** A Runner that records instead of printing, for in-process tests of the steps. */
import type { Runner } from "../src/runner.ts";

export interface Recording {
  readonly info: string[];
  readonly warnings: string[];
  readonly errors: string[];
  readonly masks: string[];
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  /** GITHUB_ENV and GITHUB_PATH: what later steps get. */
  readonly exported: Record<string, string>;
  readonly paths: string[];
  /** Everything a user would see in the log, in order. */
  readonly printed: string[];
}

export function recordingRunner(): { runner: Runner; recording: Recording } {
  const recording: Recording = { info: [], warnings: [], errors: [], masks: [], outputs: {}, state: {}, exported: {}, paths: [], printed: [] };
  const print = (list: string[], message: string) => {
    list.push(message);
    recording.printed.push(message);
  };
  return {
    recording,
    runner: {
      info: (m) => print(recording.info, m),
      warning: (m) => print(recording.warnings, m),
      error: (m) => print(recording.errors, m),
      mask: (s) => recording.masks.push(s),
      setOutput: (n, v) => {
        recording.outputs[n] = v;
      },
      saveState: (n, v) => {
        recording.state[n] = v;
      },
      exportVariable: (n, v) => {
        recording.exported[n] = v;
      },
      addPath: (dir) => {
        recording.paths.push(dir);
      },
    },
  };
}

/** The state as the post step receives it: `STATE_<name>` variables. */
export const stateEnv = (state: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]));
