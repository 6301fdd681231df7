import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseFileCommands } from "../test/github-runner.ts";
import { escapeCommandData, fileCommandBlock, getInput, getState, githubRunner } from "./runner.ts";

describe("runner protocol", () => {
  it("reads INPUT_<NAME> as the runner sets it: spaces → _, upper-cased, hyphens kept, trimmed", () => {
    const env = { "INPUT_TOKEN-SERVER": " https://a.example ", INPUT_MY_INPUT: "x" };
    expect(getInput(env, "token-server")).toBe("https://a.example");
    expect(getInput(env, "my input")).toBe("x");
    expect(getInput(env, "absent")).toBe("");
    expect(getState({ STATE_config: "/x" }, "config")).toBe("/x");
  });

  it("escapes command data so a message cannot start a new command", () => {
    expect(escapeCommandData("50%\r\n::add-mask::x")).toBe("50%25%0D%0A::add-mask::x");
  });

  it("writes outputs and state as name<<DELIM blocks the runner parses back, multi-line values included", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-test-"));
    const env = { GITHUB_OUTPUT: join(dir, "out"), GITHUB_STATE: join(dir, "state") };
    writeFileSync(env.GITHUB_OUTPUT, "");
    const runner = githubRunner(env, () => undefined);
    runner.setOutput("registry", "r.example:5000");
    runner.setOutput("multi", "a\nb");
    runner.saveState("config", "/home/runner/.docker/config.json");
    expect(parseFileCommands(readFileSync(env.GITHUB_OUTPUT, "utf8"))).toEqual({ registry: "r.example:5000", multi: "a\nb" });
    expect(parseFileCommands(readFileSync(env.GITHUB_STATE, "utf8"))).toEqual({ config: "/home/runner/.docker/config.json" });
    expect(readFileSync(env.GITHUB_OUTPUT, "utf8")).toMatch(/^registry<<ghadelimiter_[0-9a-f-]{36}\n/);
  });

  it("refuses a value containing its delimiter rather than corrupting the file", () => {
    expect(() => fileCommandBlock("a", "x\nDELIM\ny", "DELIM")).toThrow(/contains the delimiter/);
    expect(fileCommandBlock("a", "x", "DELIM")).toBe("a<<DELIM\nx\nDELIM\n");
    // A fresh random delimiter by default, so a value can only collide by guessing it.
    expect(fileCommandBlock("a", "b")).not.toBe(fileCommandBlock("a", "b"));
  });

  it("fails clearly outside a runner (no GITHUB_OUTPUT)", () => {
    expect(() => githubRunner({}, () => undefined).setOutput("x", "y")).toThrow(/GITHUB_OUTPUT is not set/);
  });

  it("masks every line of a secret and prints warnings and errors as commands", () => {
    const lines: string[] = [];
    const runner = githubRunner({}, (line) => lines.push(line));
    runner.mask("one\ntwo\n");
    runner.warning("careful\nnow");
    runner.error("broken");
    expect(lines).toEqual(["::add-mask::one", "::add-mask::two", "::warning::careful%0Anow", "::error::broken"]);
  });
});
