import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCommand, startProcess, waitUntil } from "./process.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";

describe("runCommand", () => {
  it("returns code, stdout and stderr, feeding input on stdin", async () => {
    const result = await runCommand("sh", ["-c", "cat; echo oops >&2; exit 3"], { input: "secret-in" });
    expect(result).toMatchObject({ code: 3, stdout: "secret-in", stderr: "oops\n", timedOut: false });
  });
  it("kills the command at the timeout", async () => {
    const result = await runCommand("sleep", ["30"], { timeoutMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
  });
  it("rejects when the program does not exist", async () => {
    await expect(runCommand("/nonexistent/program", [])).rejects.toThrow(/could not run/);
  });
});

describe("startProcess", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach(removeDir));

  it("captures output (secrets redacted) and stop() ends the whole process group", async () => {
    const dir = makeTempDir("process-test");
    dirs.push(dir);
    // The shell leaves a grandchild running; stop() must reach it too.
    const child = startProcess({ command: "sh", args: ["-c", "echo token=eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.sig; sleep 60 & wait"], logFile: join(dir, "log") });
    await waitUntil(async () => child.logs().includes("token="), { timeoutMs: 5000, what: "output" });
    expect(child.logs()).toMatch(/token=<jwt sha256:[0-9a-f]{12}>/);
    await child.stop(1000);
    expect(child.exitStatus()).toBeDefined();
    expect(() => process.kill(-child.pid, 0)).toThrow(/ESRCH/);
  });

  it("waitUntil fails early with the logs when the process exits", async () => {
    const dir = makeTempDir("process-test");
    dirs.push(dir);
    const child = startProcess({ command: "sh", args: ["-c", "echo bind failed; exit 1"], logFile: join(dir, "log") });
    await expect(waitUntil(async () => false, { timeoutMs: 5000, process: child, what: "server" })).rejects.toThrow(/server: process exited \(1\)[\s\S]*bind failed/);
  });
});
