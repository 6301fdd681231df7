import { describe, expect, it } from "vitest";
import { parseProvidersConfig, type ConfigResult } from "./config.ts";
import { fileSizeProblem, MAX_CONFIG_BYTES } from "./size-limits.ts";

const provider = (lines: string[]): string =>
  ["providers:", "  - name: gha", "    issuer: https://token.actions.githubusercontent.com", "    audiences: [registry.example.com]", ...lines.map((l) => `    ${l}`), ""].join("\n");

function errorsOf(result: ConfigResult): string[] {
  return result.errors.map((d) => `${d.line}:${d.column} ${d.message}`);
}

describe("providers file size limits", () => {
  it("refuses a 30 MB description by the file's size, at once and without parsing it", () => {
    const text = provider([`description: "${"a".repeat(30_000_000)}"`]);
    const started = Date.now();
    const result = parseProvidersConfig(text, "big.yaml");
    // Parsing it took seconds; the size check is one linear pass. Generous, so a busy machine doesn't flake.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(errorsOf(result)).toEqual([`1:1 the file is ${text.length} bytes; the limit is 1048576 bytes (1 MiB), so it was not parsed`]);
    expect(result.providers).toEqual([]);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const text = provider([`description: "${"é".repeat(MAX_CONFIG_BYTES / 2)}"`]);
    expect(text.length).toBeLessThan(MAX_CONFIG_BYTES);
    expect(errorsOf(parseProvidersConfig(text))[0]).toMatch(/^1:1 the file is \d+ bytes; the limit is 1048576 bytes/);
  });

  it("names each oversized field at its line, with its limit, before checking its value", () => {
    const result = parseProvidersConfig(provider([`description: ${"d".repeat(5000)}`, "authz:", "  condition: |", `    ${"true && ".repeat(600)}true`]), "f.yaml");
    expect(errorsOf(result)).toEqual(["5:18 description is 5000 characters; the limit is 1024", "7:18 condition is 4805 characters; the limit is 4096"]);
  });

  it("bounds keys and every other string, whatever key they are under", () => {
    const result = parseProvidersConfig(provider([`constructor: ${"c".repeat(20_000)}`, `${"k".repeat(200)}: 1`]));
    expect(errorsOf(result)).toEqual(["5:18 constructor is 20000 characters; the limit is 16384", "6:5 a mapping key is 200 characters; the limit is 128"]);
  });

  it("accepts a file at the limit", () => {
    expect(fileSizeProblem(MAX_CONFIG_BYTES)).toBeUndefined();
    const text = provider([`# ${"x".repeat(MAX_CONFIG_BYTES - 300)}`, "authz: {condition: 'scope.action == \"pull\"'}", "authn: {condition: 'claims.repository_owner_id == \"1\"'}"]);
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(MAX_CONFIG_BYTES);
    expect(parseProvidersConfig(text).errors).toEqual([]);
  });
});
