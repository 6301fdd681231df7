import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFile, exported, importsOf, type PackageInfo } from "./layering.ts";

const ROOT = "/repo";
const pkg = (name: string, deps: string[], exports?: Record<string, string>): PackageInfo => ({ dir: join(ROOT, name), name, exports, deps: new Set(deps) });
const packages = new Map(
  [
    pkg("protocol", ["jose"], { ".": "./src/index.ts", "./*": "./src/*.ts" }),
    pkg("core", ["@jwt-registry-auth/protocol", "yaml"], { "./providers/model": "./src/providers/model.ts" }),
    pkg("worker", ["@jwt-registry-auth/protocol", "@jwt-registry-auth/core"], { "./env": "./src/env.ts" }),
    pkg("proxy-worker", ["@jwt-registry-auth/protocol"]),
    pkg("controller", ["@jwt-registry-auth/core", "@jwt-registry-auth/testkit"]),
    pkg("testkit", ["@jwt-registry-auth/worker"], { ".": "./src/index.ts" }),
  ].map((p) => [p.name, p] as const),
);
const rootDevDeps = new Set(["vitest"]);
const check = (owner: string, file: string, source: string) => checkFile(join(ROOT, owner, file), source, packages.get(owner) as PackageInfo, packages, rootDevDeps).map((v) => v.message);

describe("importsOf", () => {
  it("finds static, type-only, multi-line, re-export and dynamic imports, with their lines", () => {
    // The dynamic import is split so this file doesn't import "e" itself.
    const source = 'import a from "a";\nimport type { B } from "b";\nimport {\n  c,\n} from "c";\nexport * from "d";\nconst e = await imp' + 'ort("e");\nrun(["--import", "tsx"]);\n';
    expect(importsOf(source)).toEqual([
      { spec: "a", line: 1 },
      { spec: "b", line: 2 },
      { spec: "c", line: 3 },
      { spec: "d", line: 6 },
      { spec: "e", line: 7 },
    ]);
  });
});

describe("checkFile", () => {
  it("accepts declared imports through exports", () => {
    expect(check("worker", "src/a.ts", 'import { x } from "@jwt-registry-auth/core/providers/model";\nimport "@jwt-registry-auth/protocol";\nimport "node:fs";\nimport "./b.ts";')).toEqual([]);
  });

  it("refuses protocol importing any workspace", () => {
    expect(check("protocol", "src/a.ts", 'import "@jwt-registry-auth/core/providers/model";')).toEqual([
      expect.stringContaining("protocol may not import core"),
      expect.stringContaining("does not declare @jwt-registry-auth/core"),
    ]);
  });

  it("refuses one Worker importing the other, and a client importing a server package", () => {
    expect(check("proxy-worker", "src/a.ts", 'import "@jwt-registry-auth/worker/env";')[0]).toContain("proxy-worker may not import worker");
    expect(check("controller", "src/a.ts", 'import "@jwt-registry-auth/worker/env";')[0]).toContain("controller may not import worker");
  });

  it("lets tests use testkit where it is declared, but not shipped code", () => {
    expect(check("controller", "src/a.test.ts", 'import "@jwt-registry-auth/testkit";')).toEqual([]);
    expect(check("controller", "src/a.ts", 'import "@jwt-registry-auth/testkit";')[0]).toContain("controller may not import testkit");
  });

  it("refuses a file outside the target's exports, an undeclared dependency, and a relative import out of the package", () => {
    expect(check("worker", "src/a.ts", 'import "@jwt-registry-auth/core/policy/condition";')).toEqual([expect.stringContaining("not in core/package.json exports")]);
    expect(check("worker", "src/a.ts", 'import "yaml";')).toEqual(["yaml: worker/package.json does not declare yaml"]);
    expect(check("worker", "src/a.ts", 'import "../../core/src/providers/model.ts";')[0]).toContain("leaves the package");
  });

  it("lets test files use the root's dev tools, and nothing else", () => {
    expect(check("core", "src/a.test.ts", 'import { it } from "vitest";')).toEqual([]);
    expect(check("core", "src/a.ts", 'import { it } from "vitest";')).toEqual(["vitest: core/package.json does not declare vitest"]);
  });
});

describe("exported", () => {
  it("matches exact keys and trailing-* patterns", () => {
    expect(exported({ ".": "x", "./*": "y" }, "")).toBe(true);
    expect(exported({ "./*": "y" }, "a/b")).toBe(true);
    expect(exported({ "./env": "y" }, "env2")).toBe(false);
    expect(exported(undefined, "env")).toBe(false);
  });
});
