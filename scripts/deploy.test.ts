import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { placeholderProblems } from "./deploy.ts";

const root = resolve(import.meta.dirname, "..");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

function deploy(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts/deploy.ts"), ...args], { cwd: root, env, encoding: "utf8" });
}

describe("deploy refuses placeholder ids", () => {
  it("names each placeholder in the committed token-server wrangler.toml with file:line and the command that prints the real id", () => {
    const text = readFileSync(join(root, "wrangler.toml"), "utf8");
    const lineOf = (id: string) => text.split("\n").findIndex((l) => l.includes(`"${id}"`)) + 1;
    expect(placeholderProblems("wrangler.toml", text)).toEqual([
      `wrangler.toml:${lineOf("00000000000000000000000000000000")}: id is still the placeholder "00000000000000000000000000000000"; put the id printed by \`npx wrangler kv namespace create JWKS_CACHE\` here`,
      `wrangler.toml:${lineOf("00000000-0000-0000-0000-000000000000")}: database_id is still the placeholder "00000000-0000-0000-0000-000000000000"; put the id printed by \`npx wrangler d1 create jwt-registry-auth\` here`,
    ]);
  });

  it("ignores placeholders in comments and real ids", () => {
    expect(placeholderProblems("w.toml", '# id = "00000000000000000000000000000000"\nid = "0123456789abcdef0123456789abcdef"\n')).toEqual([]);
  });

  it("npm run deploy exits 2 before running wrangler, and passes a config with real ids on to wrangler deploy (--dry-run)", () => {
    const refused = deploy(["wrangler.toml", "--dry-run"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^deploy refused: placeholder ids are left in wrangler.toml\n {2}wrangler.toml:\d+: id is still the placeholder/);
    expect(refused.stdout).not.toContain("--dry-run: exiting now");

    const dir = mkdtempSync(join(tmpdir(), "jra-deploy-"));
    try {
      const config = join(dir, "wrangler.toml");
      const text = readFileSync(join(root, "wrangler.toml"), "utf8")
        .replace('"00000000000000000000000000000000"', '"0123456789abcdef0123456789abcdef"')
        .replace('"00000000-0000-0000-0000-000000000000"', '"01234567-89ab-cdef-0123-456789abcdef"')
        .replace('main = "worker/src/index.ts"', `main = "${join(root, "worker/src/index.ts")}"`)
        .replace('migrations_dir = "worker/migrations"', `migrations_dir = "${join(root, "worker/migrations")}"`);
      writeFileSync(config, text);
      const ran = deploy([config, "--dry-run", "--outdir", join(dir, "out")]);
      expect(ran.stderr).toBe("");
      expect(ran.status).toBe(0);
      expect(ran.stdout).toContain("--dry-run: exiting now.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("the proxy's wrangler.toml has no placeholder ids", () => {
    expect(placeholderProblems("proxy-worker/wrangler.toml", readFileSync(join(root, "proxy-worker/wrangler.toml"), "utf8"))).toEqual([]);
  });
});
