/**
 * The image's build context: the root .dockerignore keeps everything
 * controller/Dockerfile's build needs (every COPY source, every workspace's
 * package.json for npm ci, the sources build.mjs bundles) and drops keys,
 * local secrets and machine-local state. Matching follows Docker's rules
 * (patterns relative to the context root, `**` across folders, a matched
 * folder drops its contents, `!` re-includes, the last matching pattern wins).
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, ROOT), "utf8");

function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (pattern.startsWith("**/", i)) {
      out += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      out += ".*";
      i += 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

const rules = read(".dockerignore")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"))
  .map((line) => {
    const negate = line.startsWith("!");
    return { negate, re: globToRegExp((negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "")) };
  });

/** Whether Docker leaves `path` (relative to the context root) out of the build context. */
function ignored(path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let result = false;
  for (const { negate, re } of rules) if (prefixes.some((p) => re.test(p))) result = !negate;
  return result;
}

describe("controller/Dockerfile and .dockerignore", () => {
  const dockerfile = read("controller/Dockerfile");

  it("the matcher follows Docker's rules", () => {
    expect(globToRegExp("**/node_modules").test("node_modules")).toBe(true);
    expect(globToRegExp("**/node_modules").test("a/b/node_modules")).toBe(true);
    expect(globToRegExp("keys").test("cli/src/keys")).toBe(false);
    expect(globToRegExp("*.pem").test("a/b.pem")).toBe(false);
  });

  it("runs a supported Node LTS by exact version in both stages", () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/^node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    expect(froms[1]).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot(@sha256:[0-9a-f]{64})?$/);
  });

  it("keeps every COPY source and everything the build reads", () => {
    const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => (m[1] ?? "").trim().split(/\s+/).slice(0, -1));
    expect(sources).toEqual(["."]);
    const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces;
    const needed = ["package.json", "package-lock.json", "controller/build.mjs", ...workspaces.map((w) => `${w}/package.json`)];
    for (const pkg of ["controller", "core", "protocol"]) {
      for (const file of readdirSync(new URL(`${pkg}/src/`, ROOT), { recursive: true, encoding: "utf8" })) needed.push(`${pkg}/src/${file}`);
    }
    expect(needed.length).toBeGreaterThan(50);
    expect(needed.filter(ignored)).toEqual([]);
    // A source folder named keys is not the root keys/ folder.
    expect(ignored("cli/src/keys/command.ts")).toBe(false);
  });

  it("drops keys, local secrets, dependencies and local state", () => {
    const secret = [
      "keys/signing.key.pem",
      ".keys/private.jwk",
      "dev-keys/a.json",
      "worker/private.key.pem",
      ".dev.vars",
      "worker/.dev.vars",
      "proxy-worker/staging.dev.vars",
      "node_modules/jose/package.json",
      "controller/node_modules/.bin/tsx",
      "controller/dist/controller.mjs",
      ".git/HEAD",
      ".wrangler/state/v3/d1/db.sqlite",
      "worker/.wrangler/tmp/x",
      "coverage/index.html",
      "core/coverage/lcov.info",
      ".e2e-tmp/run/x",
      "bench/results/soak.json",
    ];
    expect(secret.filter((path) => !ignored(path))).toEqual([]);
  });
});
