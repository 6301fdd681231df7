/**
 * The Action as a released product: the repository's license is the one
 * package.json declares, the changelog has the sections the release workflow
 * reads, the workflow rebuilds dist/ and refuses a stale bundle, tags vX.Y.Z and
 * moves the major tag, and the READMEs pin a version.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

interface Workflow {
  on: { workflow_dispatch: { inputs: Record<string, { required: boolean }> } };
  permissions: Record<string, string>;
  jobs: Record<string, { steps: { name?: string; run?: string; uses?: string }[] }>;
}

describe("release", () => {
  it("LICENSE is the Apache License 2.0 that package.json names", () => {
    expect((JSON.parse(read("package.json")) as { license: string }).license).toBe("Apache-2.0");
    const license = read("LICENSE");
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
  });

  it("CHANGELOG.md has an Unreleased section and version sections the workflow can find", () => {
    const changelog = read("CHANGELOG.md");
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    expect(changelog).toMatch(/^## \[\d+\.\d+\.\d+\]$/m);
  });

  it("the workflow takes a version, rebuilds action/dist and refuses a differing bundle, tests, tags vX.Y.Z and moves the major tag", () => {
    const workflow = parseYaml(read(".github/workflows/release.yml")) as Workflow;
    expect(workflow.on.workflow_dispatch.inputs["version"]?.required).toBe(true);
    expect(workflow.permissions["contents"]).toBe("write");
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const runs = steps.map((step) => step.run ?? "").join("\n");
    const order = ["npm ci", "npm run build -w action", "git diff --exit-code -- action/dist", "npx vitest run", 'git tag -a "v$VERSION"', 'git tag -fa "$major"', 'git push --force origin "$major"'];
    const positions = order.map((fragment) => runs.indexOf(fragment));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(runs).toContain('major="v${VERSION%%.*}"');
    expect(runs).toMatch(/grep -q "\^## \\\[\$VERSION\\\]" CHANGELOG\.md/);
  });

  it("the READMEs pin the Action to a version, never a branch", () => {
    for (const path of ["README.md", "action/README.md", "docs/credential-helper.md"]) {
      const uses = [...read(path).matchAll(/jwt-registry-auth\/action@([^\s`)]+)/g)].map((m) => m[1]);
      expect(uses.length, path).toBeGreaterThan(0);
      for (const ref of uses) expect(ref, path).toMatch(/^v\d+(\.\d+\.\d+)?$/);
    }
  });
});
