/**
 * examples/ci: one pipeline per CI and the policy it logs in with. Each policy
 * is exactly what `policy init` prints for the arguments in the manifest (init
 * itself is tested against each CI's real claim shapes in init.test.ts), it
 * validates with no warning, and its pipeline logs in as that provider.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import { captureIo } from "../testing.ts";
import { policyInitCommand } from "./init.ts";

const DIR = fileURLToPath(new URL("../../../examples/ci/", import.meta.url));
const read = (name: string) => readFileSync(`${DIR}${name}`, "utf8");

interface Example {
  readonly ci: string;
  readonly pipeline: string;
  readonly policy: string;
  readonly init: readonly string[];
}
const { examples } = JSON.parse(read("manifest.json")) as { examples: Example[] };

describe.each(examples)("examples/ci: $ci", ({ pipeline, policy, init }) => {
  it(`${policy} is what policy init prints, and validates without a warning`, async () => {
    const io = captureIo();
    expect(await policyInitCommand(init, io)).toBe(0);
    const text = read(policy);
    expect(text).toBe(`${io.stdout.join("\n")}\n`);
    const parsed = parseProvidersConfig(text, policy);
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.providers).toHaveLength(1);
  });

  it(`${pipeline} is YAML and logs in as the policy's provider`, () => {
    const documents = parseAllDocuments(read(pipeline));
    expect(documents.flatMap((d) => d.errors)).toEqual([]);
    const name = parseProvidersConfig(read(policy), policy).providers[0]?.name ?? "-";
    expect(read(pipeline)).toMatch(new RegExp(`(JWT_REGISTRY_AUTH_PROVIDER:|provider:|value:) ${name}\\b`));
  });
});
