/**
 * `get` latency of the bundled bin against loopback fakes, as docker calls it
 * (a new node process per call): `tsx test/measure-get.ts [runs]`. Prints the
 * median and range with a warm cache and with a mint (cache removed before each
 * run: /v2/ probe + offline-token request), and the bundle size.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startFakeRegistry } from "@jwt-registry-auth/client/test/fake-registry";
import { fakeJwt, refreshTokenJwt } from "./helper-env.ts";

const runs = Number(process.argv[2] ?? 21);
const dir = mkdtempSync(join(tmpdir(), "cred-helper-measure-"));
const bin = join(dir, "docker-credential-jwt-registry-auth.mjs");
execFileSync(process.execPath, [fileURLToPath(new URL("../build.mjs", import.meta.url)), bin]);
const registry = await startFakeRegistry({ refreshToken: refreshTokenJwt(3600), service: "test-registry" });
const config = join(dir, "helper.json");
writeFileSync(config, JSON.stringify({ registries: { [registry.host]: { provider: "ci", token: { env: "T" } } } }));
const env = { PATH: process.env["PATH"] ?? "", HOME: dir, XDG_CACHE_HOME: join(dir, "cache"), JWT_REGISTRY_AUTH_HELPER_CONFIG: config, T: fakeJwt({ sub: "job", exp: Math.floor(Date.now() / 1000) + 600 }) };

// Spawned asynchronously so the fake registry (in this process) can answer.
function once(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [bin, "get"], { env, stdio: ["pipe", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`exit ${code}`))));
    child.stdin.end(registry.host);
  });
}
const stats = (ms: number[]): string => {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `median ${median.toFixed(0)} ms over ${sorted.length} runs (${(sorted[0] ?? 0).toFixed(0)} – ${(sorted.at(-1) ?? 0).toFixed(0)} ms)`;
};

const mint: number[] = [];
for (let i = 0; i < runs; i++) {
  rmSync(join(dir, "cache"), { recursive: true, force: true });
  mint.push(await once());
}
const warm: number[] = [];
for (let i = 0; i < runs; i++) warm.push(await once());
const base: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  spawnSync(process.execPath, ["-e", "0"]);
  base.push(performance.now() - start);
}
const size = statSync(bin).size;
console.log(`get, warm cache: ${stats(warm)}`);
console.log(`get, with a mint: ${stats(mint)}`);
console.log(`node -e 0, for scale: ${stats(base)}`);
console.log(`bundle: ${(size / 1000).toFixed(1)} kB (${(gzipSync(readFileSync(bin)).length / 1000).toFixed(1)} kB gzipped)`);
console.log(`token requests: ${registry.requests.filter((r) => r.url.pathname === "/token").length} (expected ${runs})`);
await registry.close();
rmSync(dir, { recursive: true, force: true });
