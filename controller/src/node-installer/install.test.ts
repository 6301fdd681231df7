/** The node installer: checks before it writes, writes atomically, and leaves unchanged files alone. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkKubeletConfig, install, InstallError, PROVIDER_NAME, wrapperScript } from "./install.ts";

const CONFIG_1_34 = new URL("../../deploy/credential-provider-config.yaml", import.meta.url);
const CONFIG_1_33 = new URL("../../deploy/credential-provider-config-1.33.yaml", import.meta.url);
const PATHS = { installDir: "/opt/jwt-registry-auth", binDir: "/etc/kubernetes/image-credential-provider", configFile: "/etc/jwt-registry-auth/credential-provider-config.yaml" };

let dir: string;
let host: string;
let sources: { node: string; bundle: string; config: string };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "node-installer-"));
  host = join(dir, "host");
  await mkdir(host);
  sources = { node: join(dir, "node"), bundle: join(dir, "credential-provider.mjs"), config: join(dir, "config.yaml") };
  await writeFile(sources.node, "#!fake node runtime\n");
  await writeFile(sources.bundle, "console.log('bundle');\n");
  await writeFile(sources.config, await readFile(CONFIG_1_34));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Every file under the fake host root, with its content and mode. */
async function hostFiles(): Promise<Record<string, { content: string; mode: number }>> {
  const out: Record<string, { content: string; mode: number }> = {};
  for (const entry of await readdir(host, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path.slice(host.length)] = { content: await readFile(path, "utf8"), mode: (await stat(path)).mode & 0o777 };
  }
  return out;
}

describe("install", () => {
  it("puts the runtime, bundle, wrapper and config at the host paths, with their modes", async () => {
    const files = await install({ hostRoot: host, ...PATHS }, sources);
    expect(files).toEqual([
      { path: "/opt/jwt-registry-auth/node", changed: true },
      { path: "/opt/jwt-registry-auth/credential-provider.mjs", changed: true },
      { path: `/etc/kubernetes/image-credential-provider/${PROVIDER_NAME}`, changed: true },
      { path: "/etc/jwt-registry-auth/credential-provider-config.yaml", changed: true },
    ]);
    expect(await hostFiles()).toEqual({
      "/opt/jwt-registry-auth/node": { content: "#!fake node runtime\n", mode: 0o755 },
      "/opt/jwt-registry-auth/credential-provider.mjs": { content: "console.log('bundle');\n", mode: 0o644 },
      [`/etc/kubernetes/image-credential-provider/${PROVIDER_NAME}`]: { content: wrapperScript(PATHS.installDir), mode: 0o755 },
      "/etc/jwt-registry-auth/credential-provider-config.yaml": { content: await readFile(CONFIG_1_34, "utf8"), mode: 0o644 },
    });
  });

  it("the wrapper runs the installed bundle with the installed runtime and passes the kubelet's args", async () => {
    await writeFile(sources.node, `#!/bin/sh\necho "$@"\n`);
    await install({ hostRoot: "", ...PATHS, installDir: join(dir, "opt"), binDir: join(dir, "bin") }, sources);
    const { stdout } = await promisify(execFile)(join(dir, "bin", PROVIDER_NAME), ["--registry=r.example", "it's"]);
    expect(stdout).toBe(`${join(dir, "opt", "credential-provider.mjs")} --registry=r.example it's\n`);
  });

  it("a second run changes nothing and leaves the files untouched; a changed source replaces only its file", async () => {
    await install({ hostRoot: host, ...PATHS }, sources);
    const before = await stat(join(host, PATHS.installDir, "node"));
    const again = await install({ hostRoot: host, ...PATHS }, sources);
    expect(again.map((f) => f.changed)).toEqual([false, false, false, false]);
    expect((await stat(join(host, PATHS.installDir, "node"))).ino).toBe(before.ino);
    expect((await stat(join(host, PATHS.installDir, "node"))).mtimeMs).toBe(before.mtimeMs);

    await writeFile(sources.bundle, "console.log('v2');\n");
    const third = await install({ hostRoot: host, ...PATHS }, sources);
    expect(third.map((f) => f.changed)).toEqual([false, true, false, false]);
    expect((await hostFiles())["/opt/jwt-registry-auth/credential-provider.mjs"]).toEqual({ content: "console.log('v2');\n", mode: 0o644 });
    // Replaced by rename: no temp file left beside it.
    expect((await readdir(join(host, PATHS.installDir))).sort()).toEqual(["credential-provider.mjs", "node"]);
  });

  it("accepts the 1.33 config (no cacheType)", async () => {
    await writeFile(sources.config, await readFile(CONFIG_1_33));
    await expect(install({ hostRoot: host, ...PATHS }, sources)).resolves.toHaveLength(4);
  });

  it("a bad config, a missing source or a relative path writes nothing", async () => {
    const refuse = async (message: RegExp, paths = PATHS): Promise<void> => {
      await expect(install({ hostRoot: host, ...paths }, sources)).rejects.toThrow(message);
      await expect(install({ hostRoot: host, ...paths }, sources)).rejects.toBeInstanceOf(InstallError);
      expect(await hostFiles()).toEqual({});
    };
    await writeFile(sources.config, (await readFile(CONFIG_1_34, "utf8")).replace("--registry=registry.example.com", "--registry="));
    await refuse(/config\.yaml: providers\[jwt-registry-auth-credential-provider\]\.args: /);
    await writeFile(sources.config, await readFile(CONFIG_1_34));
    await rm(sources.bundle);
    await refuse(/^bundle .*credential-provider\.mjs: ENOENT$/);
    await writeFile(sources.bundle, "x");
    await refuse(/^--bin-dir: expected an absolute host path, got "bin"$/, { ...PATHS, binDir: "bin" });
  });
});

describe("checkKubeletConfig", () => {
  const base = (): string => `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ${PROVIDER_NAME}
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ["r.example"]
    defaultCacheDuration: 5m
    args: ["--registry=r.example"]
    tokenAttributes:
      serviceAccountTokenAudience: https://r.example
      requireServiceAccount: true
`;
  const check = (text: string): void => checkKubeletConfig(text, "cfg.yaml");

  it("accepts the shipped configs and a minimal one", async () => {
    check(await readFile(CONFIG_1_34, "utf8"));
    check(await readFile(CONFIG_1_33, "utf8"));
    check(base());
  });

  it.each([
    ["not YAML", "providers: [\n", /^cfg\.yaml: line \d+: /],
    ["two documents", `${base()}---\n${base()}`, /^cfg\.yaml: expected one YAML document, found 2$/],
    ["another kind", base().replace("kind: CredentialProviderConfig", "kind: KubeletConfiguration"), /not a kubelet\.config\.k8s\.io\/v1 CredentialProviderConfig$/],
    ["another apiVersion", base().replace("kubelet.config.k8s.io/v1", "kubelet.config.k8s.io/v1beta1"), /not a kubelet\.config\.k8s\.io\/v1 CredentialProviderConfig$/],
    ["another provider name", base().replace(`name: ${PROVIDER_NAME}`, "name: other"), /no provider named jwt-registry-auth-credential-provider/],
    ["args not strings", base().replace(`args: ["--registry=r.example"]`, "args: [1]"), /args must be a list of strings$/],
    ["no --registry", base().replace(`args: ["--registry=r.example"]`, "args: []"), /\.args: .*--registry/],
    ["no audience", base().replace("      serviceAccountTokenAudience: https://r.example\n", ""), /serviceAccountTokenAudience is required/],
  ])("refuses %s", (_, text, message) => {
    expect(() => check(text)).toThrow(message);
  });
});
