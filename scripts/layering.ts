/**
 * The package layering, checked on every `npm test` (docs/architecture.md):
 *
 * - a package imports another workspace only as `@jwt-registry-auth/NAME[/sub]`,
 *   through an entry of that package's `exports`, and only if its package.json
 *   declares the dependency; a relative import never leaves its package;
 * - a bare npm import is declared by the importing package (test files may
 *   also use the root's dev tools: vitest, fast-check, miniflare…);
 * - who may import whom is the table below: protocol/ imports no workspace,
 *   the Workers never import each other, and the clients (controller, client,
 *   credential-helper, action) never import a server package.
 *
 * Usage: `tsx scripts/layering.ts` (exit 1 and one line per violation);
 * `--graph` prints which workspace imports which.
 */
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative, sep } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCOPE = "@jwt-registry-auth/";

/** Workspace → the workspaces its code may import. Tests may also import testkit where it is declared. */
export const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  core: ["protocol"],
  worker: ["protocol", "core"],
  "proxy-worker": ["protocol"],
  cli: ["protocol", "core"],
  controller: ["protocol", "core"],
  client: ["protocol"],
  "credential-helper": ["protocol", "client"],
  action: ["protocol", "client"],
  testkit: ["protocol", "core", "worker", "cli"],
  bench: ["protocol", "core", "worker", "cli", "testkit"],
  e2e: ["protocol", "testkit", "action"],
  // The root's own scripts (npm start, the demo) start servers through testkit and read the proxy's setting names.
  ".": ["testkit", "proxy-worker"],
};

/** Packages whose tests may use testkit's stand-ins on top of the table. */
const TEST_SUPPORT = ["testkit", "action"];

export interface PackageInfo {
  readonly dir: string;
  readonly name: string;
  readonly exports: Readonly<Record<string, string>> | undefined;
  readonly deps: ReadonlySet<string>;
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** Static imports and re-exports start a line; dynamic ones can be anywhere. */
const IMPORT = /^[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/** Every module specifier a TypeScript file imports or re-exports, with its line. */
export function importsOf(source: string): { readonly spec: string; readonly line: number }[] {
  const found: { spec: string; line: number }[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    if (spec === undefined) continue;
    found.push({ spec, line: source.slice(0, match.index).split("\n").length });
  }
  return found;
}

/**
 * Tests, their fixtures and support files, and `measure-*.ts` tools run by hand
 * against stand-ins: none of them is in a shipped bundle.
 */
const isTestFile = (file: string): boolean =>
  /(^|\/)(test|fixtures)\//.test(file) || /\.test\.ts$/.test(file) || /(^|\/)vitest\.config\.ts$/.test(file) || /(^|\/)(test|measure)-[\w-]+\.ts$/.test(file);

/** `@jwt-registry-auth/core/providers/model` is allowed by an `exports` key `./providers/model` or a `./*`-style pattern. */
export function exported(exports: Readonly<Record<string, string>> | undefined, sub: string): boolean {
  if (exports === undefined) return false;
  const key = sub === "" ? "." : `./${sub}`;
  return Object.keys(exports).some((k) => k === key || (k.endsWith("*") && key.startsWith(k.slice(0, -1)) && key.length > k.length - 1));
}

function packageNameOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? spec);
}

const BUILTINS = new Set(builtinModules);

export function checkFile(file: string, source: string, owner: PackageInfo, packages: ReadonlyMap<string, PackageInfo>, rootDevDeps: ReadonlySet<string>): Violation[] {
  const violations: Violation[] = [];
  const test = isTestFile(relative(owner.dir, file));
  const add = (line: number, message: string) => violations.push({ file, line, message });
  for (const { spec, line } of importsOf(source)) {
    if (spec.startsWith(".")) {
      const target = normalize(join(dirname(file), spec));
      const inside = owner.name === "." ? !packages.has(relative(owner.dir, target).split(sep)[0] ?? "") : !relative(owner.dir, target).startsWith("..");
      if (!inside) add(line, `relative import ${spec} leaves the package; import it as ${SCOPE}NAME through its exports`);
      continue;
    }
    if (spec.startsWith("node:") || BUILTINS.has(spec) || spec.startsWith("cloudflare:")) continue;
    if (spec.startsWith(SCOPE)) {
      const target = spec.slice(SCOPE.length).split("/")[0] ?? "";
      const sub = spec.slice(SCOPE.length + target.length + 1);
      const info = packages.get(target);
      if (info === undefined) {
        add(line, `${spec}: no workspace ${target}`);
        continue;
      }
      const allowed = MAY_IMPORT[owner.name] ?? [];
      const allowedHere = allowed.includes(target) || (test && TEST_SUPPORT.includes(target));
      if (!allowedHere) add(line, `${owner.name} may not import ${target} (docs/architecture.md); it may import: ${allowed.join(", ") || "no workspace"}`);
      if (owner.name !== "." && !owner.deps.has(`${SCOPE}${target}`)) add(line, `${spec}: ${owner.name}/package.json does not declare ${SCOPE}${target}`);
      if (!exported(info.exports, sub)) add(line, `${spec}: not in ${target}/package.json exports`);
      continue;
    }
    const name = packageNameOf(spec);
    if (owner.deps.has(name)) continue;
    if (test && rootDevDeps.has(name)) continue;
    if (owner.name === "." && rootDevDeps.has(name)) continue;
    add(line, `${spec}: ${owner.name}/package.json does not declare ${name}`);
  }
  return violations;
}

function readPackage(root: string, dir: string): PackageInfo {
  const json = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
    exports?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  return { dir: join(root, dir), name: dir, exports: json.exports, deps: new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.devDependencies ?? {})]) };
}

/** Checks every tracked TypeScript file of the repository at `root`. */
export function checkLayering(root: string): Violation[] {
  const rootJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[]; devDependencies?: Record<string, string> };
  const packages = new Map(rootJson.workspaces.map((w) => [w, readPackage(root, w)] as const));
  const rootDevDeps = new Set(Object.keys(rootJson.devDependencies ?? {}));
  const rootPackage: PackageInfo = { dir: root, name: ".", exports: undefined, deps: rootDevDeps };
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mts"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f !== "" && !f.includes("node_modules/") && !f.endsWith(".d.ts"));
  const violations: Violation[] = [];
  for (const file of files) {
    const owner = packages.get(file.split("/")[0] ?? "") ?? rootPackage;
    let source: string;
    try {
      source = readFileSync(join(root, file), "utf8");
    } catch {
      continue; // deleted in the work tree, not yet in the index
    }
    violations.push(...checkFile(join(root, file), source, owner, packages, rootDevDeps).map((v) => ({ ...v, file })));
  }
  return violations;
}

/** Which workspace imports which (any file, tests included): `from → [to…]`, for docs/architecture.md and reviews. */
export function importGraph(root: string): Map<string, Set<string>> {
  const rootJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
  const graph = new Map(rootJson.workspaces.map((w) => [w, new Set<string>()] as const));
  const files = execFileSync("git", ["ls-files", "*.ts"], { cwd: root, encoding: "utf8" }).split("\n");
  for (const file of files) {
    const from = graph.get(file.split("/")[0] ?? "");
    if (from === undefined || file.includes("node_modules/")) continue;
    let source: string;
    try {
      source = readFileSync(join(root, file), "utf8");
    } catch {
      continue;
    }
    for (const { spec } of importsOf(source)) {
      if (spec.startsWith(SCOPE)) from.add(spec.slice(SCOPE.length).split("/")[0] ?? "");
      else if (spec.startsWith(".")) {
        const target = relative(root, normalize(join(root, dirname(file), spec))).split(sep)[0] ?? "";
        if (target !== file.split("/")[0] && graph.has(target)) from.add(`${target} (relative)`);
      }
    }
  }
  return graph;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  if (process.argv[2] === "--graph") {
    for (const [from, to] of importGraph(root)) console.log(`${from} → ${[...to].sort().join(", ") || "(none)"}`);
    process.exit(0);
  }
  const violations = checkLayering(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.message}`);
  if (violations.length > 0) {
    console.error(`layering: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log("layering: ok");
}
