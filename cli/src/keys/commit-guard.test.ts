import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { committableReason, resolvePhysically } from "./commit-guard.ts";
import { keysCommand } from "./command.ts";
import { DEFAULT_OUT_DIR, KEY_FILE } from "./files.ts";

let base: string;
let repo: string;
let err: string[];

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "jra-guard-")));
  repo = join(base, "repo");
  mkdirSync(repo);
  execFileSync("git", ["init", "-q", repo]);
  writeFileSync(join(repo, ".gitignore"), ".keys/\n/secret/\n");
  mkdirSync(join(repo, "secret"));
  err = [];
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void err.push(args.join(" ")));
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(base, { recursive: true, force: true });
});

describe("committableReason", () => {
  it("refuses a path inside the work tree that git does not ignore, naming the path and the tree", () => {
    expect(committableReason(join(repo, "keys", "signing-key.pem"))).toBe(
      `${join(repo, "keys", "signing-key.pem")} is inside the git work tree ${repo} and not git-ignored, so \`git add\` would commit the private key`,
    );
  });

  it("allows an ignored path (a folder that does not exist yet included), a path outside the tree, and a directory without git", () => {
    expect(committableReason(join(repo, ".keys", "signing-key.pem"))).toBeUndefined();
    expect(committableReason(join(repo, "secret", "nested", "signing-key.pem"))).toBeUndefined();
    expect(committableReason(join(base, "elsewhere", "signing-key.pem"))).toBeUndefined();
  });

  it("refuses a tracked file even where a pattern would ignore it (git add of a tracked file commits it)", () => {
    writeFileSync(join(repo, ".dev.vars"), "");
    execFileSync("git", ["-C", repo, "add", "-f", ".dev.vars"]);
    writeFileSync(join(repo, ".gitignore"), ".dev.vars\n");
    expect(committableReason(join(repo, ".dev.vars"))).toMatch(/not git-ignored/);
  });

  it("resolves `..` before checking: out of an ignored folder back into the tree is refused", () => {
    expect(committableReason(`${repo}/.keys/../keys/signing-key.pem`)).toMatch(/not git-ignored/);
  });

  it("resolves symbolic links: a link outside the tree that points into it is refused, one inside the tree that points out is allowed", () => {
    symlinkSync(repo, join(base, "link-in"));
    expect(committableReason(join(base, "link-in", "keys", "signing-key.pem"))).toMatch(new RegExp(`^${join(repo, "keys")}`));
    mkdirSync(join(base, "outside"));
    symlinkSync(join(base, "outside"), join(repo, "out-link"));
    expect(committableReason(join(repo, "out-link", "signing-key.pem"))).toBeUndefined();
  });

  it("follows a link before `..`, as the file system does: link/.. is the link target's parent", () => {
    mkdirSync(join(repo, "deep", "er"), { recursive: true });
    symlinkSync(join(repo, "deep", "er"), join(repo, ".keys-link"));
    // Template strings, not join(), which would fold the `..` itself. Lexically repo/.keys-link/../x is repo/x; physically it is repo/deep/x.
    expect(resolvePhysically(`${repo}/.keys-link/../x`)).toBe(join(repo, "deep", "x"));
    expect(committableReason(`${repo}/.keys-link/../signing-key.pem`)).toMatch(/deep\/signing-key\.pem is inside/);
  });
});

describe("keys generate refuses committable paths", () => {
  it("exits 1 with a clear message and writes nothing for --out inside the tree", async () => {
    expect(await keysCommand(["generate", "--out", join(repo, "keys")])).toBe(1);
    expect(err.join("\n")).toMatch(/refusing to write: .*keys\/signing-key\.pem is inside the git work tree .* and not git-ignored.*\.gitignore/);
    expect(existsSync(join(repo, "keys"))).toBe(false);
  });

  it("refuses a --dev-vars file the tree does not ignore, writing no key files either", async () => {
    expect(await keysCommand(["generate", "--out", join(repo, ".keys"), "--dev-vars", join(repo, "dev.vars")])).toBe(1);
    expect(err.join("\n")).toMatch(/dev\.vars is inside the git work tree/);
    expect(existsSync(join(repo, ".keys"))).toBe(false);
    expect(existsSync(join(repo, "dev.vars"))).toBe(false);
  });

  it("writes into an ignored folder", async () => {
    expect(await keysCommand(["generate", "--out", join(repo, "secret", "k")])).toBe(0);
    expect(readdirSync(join(repo, "secret", "k")).sort()).toEqual(["jwks.json", "signing-cert.pem", "signing-key.pem"]);
  });

  it("writes to the default .keys/ of the working directory, which the repository ignores", async () => {
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      expect(await keysCommand(["generate"])).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(join(repo, ".keys")).sort()).toEqual(["jwks.json", "signing-cert.pem", "signing-key.pem"]);
  });
});

describe("this repository", () => {
  it("ignores the default --out folder (and the old keys/ folder the README once used) at its root", () => {
    const root = join(import.meta.dirname, "..", "..", "..");
    expect(committableReason(join(root, DEFAULT_OUT_DIR, KEY_FILE))).toBeUndefined();
    expect(committableReason(join(root, "keys", KEY_FILE))).toBeUndefined();
    expect(committableReason(join(root, "cli", "src", "keys", KEY_FILE))).toMatch(/not git-ignored/);
  });
});
