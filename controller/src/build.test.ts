/** The shipped artifact: build.mjs bundles both modes into files plain node runs. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL("../build.mjs", import.meta.url));
let outdir: string;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "controller-build-"));
  await run(process.execPath, [BUILD, "--outdir", outdir]);
}, 120_000);
afterAll(() => rm(outdir, { recursive: true, force: true }));

describe("build.mjs bundles", () => {
  it("the controller", async () => {
    const { stdout } = await run(process.execPath, [join(outdir, "controller.mjs"), "--help"]);
    expect(stdout).toContain("Usage: jwt-registry-auth-controller");
  });

  it("the credential provider", async () => {
    const child = run(process.execPath, [join(outdir, "credential-provider.mjs"), "--registry", "r.example", "--username", "u"]);
    child.child.stdin?.end("{}");
    await expect(child).rejects.toMatchObject({ code: 1, stdout: "", stderr: 'jwt-registry-auth-credential-provider: unsupported apiVersion undefined; expected credentialprovider.kubelet.k8s.io/v1\n' });
  });
});
