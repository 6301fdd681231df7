import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "./main.ts";
import { captureIo } from "./testing.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const example = `${root}examples/providers.yaml`;

describe("main", () => {
  it("prints help and exits 0 for --help, 2 for no or an unknown command", async () => {
    const io = captureIo();
    expect(await main(["--help"], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(/Commands:\n {2}keys .*\n {2}policy /);
    expect(await main([], captureIo())).toBe(2);
    const unknown = captureIo();
    expect(await main(["frobnicate"], unknown)).toBe(2);
    expect(unknown.stderr.join("\n")).toMatch(/unknown command "frobnicate"/);
  });

  it("gives every policy subcommand a --help, and exits 2 on usage errors", async () => {
    for (const sub of ["validate", "apply", "test", "schema"]) {
      const io = captureIo();
      expect(await main(["policy", sub, "--help"], io)).toBe(0);
      expect(io.stdout[0]).toMatch(new RegExp(`^Usage: jwt-registry-auth policy ${sub}`));
    }
    const cases: string[][] = [["policy"], ["policy", "nope"], ["policy", "validate"], ["policy", "validate", "a", "b"], ["policy", "validate", "--bogus", example], ["policy", "apply", example], ["policy", "apply", example, "--local", "--remote"]];
    for (const argv of cases) {
      const io = captureIo();
      expect({ argv, code: await main(argv, io) }).toEqual({ argv, code: 2 });
      expect(io.stderr.join("\n")).toMatch(/Usage: jwt-registry-auth policy/);
    }
  });

  it("validates the example providers file", async () => {
    const io = captureIo();
    expect(await main(["policy", "validate", example], io)).toBe(0);
    expect(io.stdout).toEqual([`${example}: valid: 2 provider(s) (gha, cluster-a), 0 error(s), 0 warning(s)`]);
    expect(io.stderr).toEqual([]);
  });

  it("prints the JSON Schema exactly as docs/providers.schema.json holds it", async () => {
    const io = captureIo();
    expect(await main(["policy", "schema"], io)).toBe(0);
    expect(`${io.stdout.join("\n")}\n`).toBe(readFileSync(`${root}docs/providers.schema.json`, "utf8"));
  });

  it("runs as the installed bin", () => {
    const out = execFileSync(process.execPath, [`${root}cli/bin/jwt-registry-auth.js`, "policy", "validate", example], { encoding: "utf8" });
    expect(out).toMatch(/valid: 2 provider\(s\)/);
  });
});
