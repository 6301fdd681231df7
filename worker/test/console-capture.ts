/**
 * Captures, and keeps out of the test output, what the Worker prints with
 * console.log (its JSON log lines) and console.warn, from the call until the
 * test's `vi.restoreAllMocks()`.
 */
import { vi } from "vitest";

export interface CapturedConsole {
  readonly logs: string[];
  readonly warnings: string[];
}

export function captureConsole(): CapturedConsole {
  const captured: CapturedConsole = { logs: [], warnings: [] };
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    captured.logs.push(String(line));
  });
  vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
    captured.warnings.push(String(line));
  });
  return captured;
}
