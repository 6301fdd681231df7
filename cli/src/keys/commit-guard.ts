/**
 * Refuses to put a private key where `git add` would commit it: a path inside
 * a git work tree that the work tree does not ignore. Checked before anything
 * is generated or written, so a refusal leaves nothing behind.
 *
 * Paths are resolved the way the file system will resolve them when writing:
 * symbolic links of every existing ancestor, and `..` after a link meaning the
 * link target's parent (not the lexical parent), so neither a link into a
 * checkout nor a `..` walk out of an ignored folder gets past the check.
 * Without git, or outside a work tree, there is nothing to commit the key to,
 * and writing is allowed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";

export class CommittablePathError extends Error {
  override readonly name = "CommittablePathError";
}

/** The path as the file system resolves it, for a path whose tail may not exist yet. */
export function resolvePhysically(path: string): string {
  // Not path.resolve: it would fold `..` lexically before the links are followed.
  const absolute = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  const parts = absolute.split(sep).filter((part) => part !== "");
  let current = realpathSync(sep);
  for (const part of parts) {
    if (part === ".") continue;
    current = part === ".." ? dirname(current) : join(current, part);
    // An existing prefix may be a link: follow it before the next `..` or name.
    if (existsSync(current)) current = realpathSync(current);
  }
  return current;
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current)) current = dirname(current);
  return current;
}

function git(cwd: string, args: readonly string[]): { status: number | null; stdout: string } | undefined {
  const run = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined } });
  if (run.error) return undefined; // no git on PATH
  return { status: run.status, stdout: run.stdout };
}

/**
 * Why `path` (a file about to hold a private key) would be committable, or
 * undefined when it is safe: outside any work tree, no git, or git-ignored.
 */
export function committableReason(path: string): string | undefined {
  const physical = resolvePhysically(path);
  const from = nearestExisting(dirname(physical));
  const top = git(from, ["rev-parse", "--show-toplevel"]);
  if (!top || top.status !== 0) return undefined; // no git, or not inside a work tree
  const root = realpathSync(top.stdout.trim());
  const inTree = relative(root, physical);
  if (inTree === "" || inTree.startsWith("..") || isAbsolute(inTree)) return undefined;
  // Exit 0: ignored; 1: not ignored (a tracked file is never ignored); 128: error (fail closed).
  const ignored = git(root, ["check-ignore", "-q", "--", inTree]);
  if (ignored?.status === 0) return undefined;
  return `${physical} is inside the git work tree ${root} and not git-ignored, so \`git add\` would commit the private key`;
}

/** Throws naming the first committable path; nothing has been written when it throws. */
export function assertNotCommittable(paths: readonly string[]): void {
  for (const path of paths) {
    const reason = committableReason(path);
    if (reason !== undefined) {
      throw new CommittablePathError(
        `refusing to write: ${reason}. Write the keys outside the checkout, into an ignored folder (this repository ignores the default, .keys/), or add the path to .gitignore.`,
      );
    }
  }
}
