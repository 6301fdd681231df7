/**
 * Issue 10: a refused request's log line names the refused term's line in the
 * providers file that was applied. The file is loaded as `policy apply` loads
 * it (parseProvidersConfig records each condition's first line), stored with
 * apply's statements in the real local D1, and decided by the Worker in workerd.
 */
import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import { resetPolicyCache } from "../src/policy/store.ts";
import { captureConsole } from "./console-capture.ts";
import { freshIssuer, mint, putProviders } from "./providers.ts";

const SERVICE = "registry.test";
let issuer: string;
let logs: string[];

/** The providers file; the comments give each line's number. */
const providersFile = (iss: string) =>
  [
    "# applied providers", //                                   1
    "providers:", //                                            2
    "  - name: lines", //                                       3
    `    issuer: ${iss}`, //                                    4
    "    audiences: [registry.test]", //                        5
    "    authz:", //                                            6
    "      condition: |", //                                    7
    '        scope.type == "repository" &&', //                 8
    '          (scope.action == "pull" ||', //                  9
    '           claims.ref == "refs/heads/main")', //          10
    "  - name: gate", //                                       11
    `    issuer: ${iss}`, //                                   12
    "    audiences: [registry.test]", //                       13
    '    authn: {condition: "claims.team == \'build\'"}', //    14
    "    authz: {condition: \"true\"}", //                     15
    "",
  ].join("\n");

async function refusedLine(provider: string, claims: Record<string, unknown>, scope: string): Promise<Record<string, unknown>> {
  const jwt = await mint(issuer, { sub: "s", aud: SERVICE, ...claims });
  await SELF.fetch(`http://token.test/token?service=${SERVICE}&scope=${scope}`, { headers: { Authorization: `Basic ${btoa(`${provider}:${jwt}`)}` } });
  return JSON.parse(logs.find((l) => l.includes("token_request")) ?? "{}") as Record<string, unknown>;
}

beforeEach(async () => {
  issuer = freshIssuer(inject("githubIssuer"));
  resetPolicyCache();
  const loaded = parseProvidersConfig(providersFile(issuer), "providers.yaml");
  expect(loaded.errors).toEqual([]);
  await putProviders(loaded.providers);
  ({ logs } = captureConsole());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the log line of a refused request names the line in the applied file", () => {
  it("authz: the refused term of a block condition, at its file line", async () => {
    const line = await refusedLine("lines", { ref: "refs/heads/feature" }, "repository:acme/app:push");
    expect(line).toMatchObject({ provider: "lines", refused: ["repository:acme/app:push"] });
    expect(line["reason"]).toBe(
      'repository:acme/app:push: authz: false at line 9 (condition 2:4): scope.action == "pull"; false at line 10 (condition 3:4): claims.ref == "refs/heads/main"',
    );
  });

  it("authn: a single-line condition in a flow mapping, at its own line", async () => {
    const line = await refusedLine("gate", { team: "ops" }, "repository:acme/app:pull");
    expect(line).toMatchObject({ provider: "gate", authn: "refused" });
    expect(line["reason"]).toBe("authn: false at line 14 (condition 1:1): claims.team == 'build'");
  });
});
