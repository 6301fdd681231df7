/**
 * Every shell command in README.md and docs/*.md is run here or listed, with
 * its reason, as not runnable on a test machine (scripts/docs-commands.ts), so
 * the docs can't drift from the code. Runnable commands run in a scratch
 * directory per Markdown file, in document order, against this checkout.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { classify, docCommands, extractCommands, NOT_RUNNABLE, RUNNABLE } from "./docs-commands.ts";

const root = resolve(import.meta.dirname, "..");
const commands = docCommands(root);
const where = (c: { file: string; line: number }) => `${c.file}:${c.line}`;

describe("extractCommands", () => {
  it("joins continuations and heredocs, drops comments, and takes only prompted lines where a block has prompts", () => {
    const md = [
      "```sh",
      "npm run cli -- policy test a.yaml \\",
      "  --scope x   # why",
      "cat > f <<'JSON'",
      '{"a": 1}',
      "JSON",
      "a |",
      "  b",
      "```",
      "```console",
      "$ jwt-registry-auth policy history --local",
      "version  applied at",
      "```",
      "```yaml",
      "not: a command",
      "```",
    ].join("\n");
    expect(extractCommands("x.md", md)).toEqual([
      { file: "x.md", line: 2, command: "npm run cli -- policy test a.yaml --scope x" },
      { file: "x.md", line: 4, command: "cat > f <<'JSON'\n{\"a\": 1}\nJSON" },
      { file: "x.md", line: 7, command: "a | b" },
      { file: "x.md", line: 11, command: "jwt-registry-auth policy history --local" },
    ]);
  });
});

describe("the commands in README.md and docs/", () => {
  it("are each runnable here or listed as not runnable with a reason", () => {
    expect(commands.length).toBeGreaterThan(20);
    expect(commands.filter((c) => classify(c.command).kind === "unknown").map((c) => `${where(c)}: ${c.command}`)).toEqual([]);
  });

  it("lists no entry that matches nothing any more", () => {
    const unused = [...RUNNABLE, ...NOT_RUNNABLE].filter((entry) => !commands.some((c) => entry.pattern.test(c.command)));
    expect(unused.map((e) => String(e.pattern))).toEqual([]);
  });

  it("the README's first policy test example allows with the example providers (it once refused everything)", () => {
    const first = commands.find((c) => c.file === "README.md" && c.command.includes("policy test"));
    expect(first?.command).toContain("examples/providers.yaml");
    expect(first?.command).toContain("--expect allow");
  });

  const byFile = new Map<string, typeof commands>();
  for (const c of commands) if (classify(c.command).kind === "run") byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
  for (const [file, runnable] of byFile) {
    it(`runs ${file}'s commands: ${runnable.map((c) => c.line).join(", ")}`, () => {
      const scratch = mkdtempSync(join(tmpdir(), "jra-doc-commands-"));
      try {
        cpSync(join(root, "examples"), join(scratch, "examples"), { recursive: true });
        cpSync(join(root, "examples", "providers.yaml"), join(scratch, "providers.yaml"));
        const wrangler = `"${process.execPath}" "${join(root, "node_modules/wrangler/bin/wrangler.js")}"`;
        for (const c of runnable) {
          const verdict = classify(c.command);
          if (verdict.kind !== "run") throw new Error("unreachable");
          const script = `set -euo pipefail\ncli() { "${process.execPath}" "${join(root, "node_modules/tsx/dist/cli.mjs")}" "${join(root, "cli/src/main.ts")}" "$@"; }\n${verdict.run.replace(/^npm run cli -- /, "cli ").replaceAll("WRANGLER", wrangler).replaceAll("ROOT", root)}`;
          const run = spawnSync("bash", ["-c", script], {
            cwd: scratch,
            encoding: "utf8",
            env: { ...process.env, NODE_PATH: join(root, "node_modules"), CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ISSUER: "https://token.actions.githubusercontent.com" },
          });
          expect({ at: where(c), status: run.status, stderr: run.status === 0 ? "" : run.stderr }).toEqual({ at: where(c), status: 0, stderr: "" });
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
