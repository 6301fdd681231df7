import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseProvidersConfig } from "@jwt-registry-auth/core/providers/config";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";
import { diffProviders, formatDiff } from "./diff.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const wranglerConfig = `${root}wrangler.toml`;
const dir = mkdtempSync(join(tmpdir(), "jra-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function providers(yaml: string) {
  const result = parseProvidersConfig(yaml, "test.yaml");
  expect(result.errors).toEqual([]);
  return result.providers;
}

const before = `providers:
  - name: gha
    issuer: https://ci.example
    audiences: [registry.example.com]
    authn:
      condition: claims.repository_owner_id == "1"
    authz:
      condition: |
        scope.action == 'pull' &&
          scope.name.startsWith('acme/')
  - name: old
    issuer: https://old.example
    audiences: [registry.example.com]
  - name: same
    issuer: https://same.example
    audiences: [registry.example.com]
`;

const after = `# comments and formatting are no change
providers:
  - name: gha
    issuer: https://ci.example
    audiences: [registry.example.com, https://registry.example.com]
    authn:
      condition: claims.repository_owner_id == "1"
    authz:
      condition: |
        scope.action in ['pull', 'push'] &&
          scope.name.startsWith('acme/')
    refresh: false
    maxTokenLifetime: 1h
  - name: new
    issuer: https://new.example
    audiences: [registry.example.com]
  - {name: same, issuer: "https://same.example", audiences: [registry.example.com]}
`;

const stored = (yaml: string) => new Map(providers(yaml).map((p) => [p.name, JSON.stringify(p)]));

describe("diffProviders", () => {
  it("reports added, removed and changed providers, conditions old then new, line by line", () => {
    expect(formatDiff(diffProviders(stored(before), providers(after)))).toEqual([
      "~ gha:",
      '    audiences: ["registry.example.com"] -> ["registry.example.com","https://registry.example.com"]',
      "    authz:",
      "      - scope.action == 'pull' &&",
      "      -   scope.name.startsWith('acme/')",
      "      + scope.action in ['pull', 'push'] &&",
      "      +   scope.name.startsWith('acme/')",
      "    refresh: 3600 s -> off",
      "    maxTokenLifetime: default (86400 s) -> 3600 s",
      "+ new: added (issuer https://new.example, keys discovery https://new.example/.well-known/openid-configuration)",
      "- old: removed",
      "1 added, 1 removed, 1 changed",
    ]);
  });

  it("says no changes for the same providers, whatever the formatting", () => {
    expect(formatDiff(diffProviders(stored(after), providers(`${after}\n# trailing comment\n`)))).toEqual(["no changes"]);
  });

  it("shows a condition added or removed, a changed key source and key material", () => {
    const jwks = (kid: string, n: string) =>
      `providers:\n  - name: k\n    issuer: https://k.example\n    audiences: [r]\n    jwks: {keys: [{kty: RSA, kid: ${kid}, e: AQAB, n: ${n}}]}\n`;
    const n = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";
    const m = `${n.slice(0, -4)}abcd`;
    expect(diffProviders(stored(jwks("a", n)), providers(jwks("a", m)))).toEqual([{ kind: "changed", name: "k", lines: ["    keys: jwks, 1 key(s): a (key material changed)"] }]);
    expect(diffProviders(stored(jwks("a", n)), providers(jwks("b", n)))).toEqual([{ kind: "changed", name: "k", lines: ["    keys: jwks, 1 key(s): a -> jwks, 1 key(s): b"] }]);
    const gone = providers(`providers:\n  - name: gha\n    issuer: https://ci.example\n    audiences: [registry.example.com]\n`);
    const lines = diffProviders(stored(before), gone).find((d) => d.name === "gha");
    expect(lines).toMatchObject({
      lines: ["    authn:", '      - claims.repository_owner_id == "1"', "      + (none: every verified token authenticates)", "    authz:", "      - scope.action == 'pull' &&", "      -   scope.name.startsWith('acme/')", "      + (none: every requested scope is granted)"],
    });
  });
});

describe("policy diff on local D1", () => {
  it("compares a file with what D1 holds, changing nothing", async () => {
    const persistTo = join(dir, "state");
    const local = ["--local", "--config", wranglerConfig, "--persist-to", persistTo];
    const beforeFile = join(dir, "before.yaml");
    const afterFile = join(dir, "after.yaml");
    writeFileSync(beforeFile, before);
    writeFileSync(afterFile, after);
    const run = async (...argv: string[]) => {
      const io = captureIo();
      return { code: await policyCommand(argv, io), out: io.stdout, err: io.stderr };
    };
    // Nothing applied yet: every provider is new.
    expect((await run("diff", beforeFile, ...local)).out).toEqual([
      `${beforeFile} against the local D1 (policy version 0):`,
      "+ gha: added (issuer https://ci.example, keys discovery https://ci.example/.well-known/openid-configuration)",
      "+ old: added (issuer https://old.example, keys discovery https://old.example/.well-known/openid-configuration)",
      "+ same: added (issuer https://same.example, keys discovery https://same.example/.well-known/openid-configuration)",
      "3 added, 0 removed, 0 changed",
    ]);
    expect((await run("apply", beforeFile, ...local, "--yes")).code).toBe(0);
    expect(await run("diff", beforeFile, ...local, "--exit-code")).toMatchObject({ code: 0, out: [`${beforeFile} against the local D1 (policy version 1):`, "no changes"] });
    const changed = await run("diff", afterFile, ...local, "--exit-code");
    expect(changed.code).toBe(3);
    expect(changed.out.slice(1)).toEqual(formatDiff(diffProviders(stored(before), providers(after))));
    expect((await run("diff", afterFile, ...local)).code).toBe(0);
    // Still version 1: diff wrote nothing.
    expect((await run("diff", beforeFile, ...local)).out[0]).toBe(`${beforeFile} against the local D1 (policy version 1):`);
    expect((await run("diff", afterFile)).code).toBe(2);
    expect((await run("diff", join(dir, "missing.yaml"), ...local)).err).toEqual([`${join(dir, "missing.yaml")}:1:1: error: cannot read the file (ENOENT)`, `${join(dir, "missing.yaml")}: not compared: the file has errors`]);
  });
});

describe("rateLimit in a diff", () => {
  it("shows an absent tier as the default it is, not (none)", () => {
    const base = `providers:\n  - name: p\n    issuer: https://p.example\n    audiences: [r]\n`;
    const stored = new Map(providers(base).map((p) => [p.name, JSON.stringify(p)]));
    expect(formatDiff(diffProviders(stored, providers(`${base}    rateLimit: strict\n`)))).toEqual(["~ p:", "    rateLimit: default -> strict", "0 added, 0 removed, 1 changed"]);
    const strict = new Map(providers(`${base}    rateLimit: off\n`).map((p) => [p.name, JSON.stringify(p)]));
    expect(formatDiff(diffProviders(strict, providers(`${base}    rateLimit: default\n`)))).toEqual(["~ p:", "    rateLimit: off -> default", "0 added, 0 removed, 1 changed"]);
  });
});
