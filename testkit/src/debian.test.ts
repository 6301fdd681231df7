import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTools, findExecutable, MissingToolsError } from "./debian.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";

const bin = makeTempDir("debian-test");
writeFileSync(join(bin, "skopeo"), "#!/bin/sh\n");
chmodSync(join(bin, "skopeo"), 0o755);
writeFileSync(join(bin, "htpasswd"), "not executable");
afterAll(() => removeDir(bin));

describe("findExecutable", () => {
  it("finds executables on the given PATH only", () => {
    expect(findExecutable("skopeo", bin)).toBe(join(bin, "skopeo"));
    expect(findExecutable("htpasswd", bin)).toBeUndefined();
  });
});

describe("ensureTools", () => {
  it("returns the paths of tools that are present", async () => {
    expect(await ensureTools(["skopeo"], { searchPath: bin, install: false })).toEqual({ skopeo: join(bin, "skopeo") });
  });
  it("without installing, names the Debian packages to install", async () => {
    const error = await ensureTools(["skopeo", "docker-registry", "htpasswd"], { searchPath: bin, install: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingToolsError);
    expect((error as MissingToolsError).packages).toEqual(["docker-registry", "apache2-utils"]);
    expect((error as Error).message).toContain("apt-get install -y docker-registry apache2-utils");
  });
  it("says when no Debian package is known for a tool", async () => {
    await expect(ensureTools(["no-such-tool-xyz"], { searchPath: bin, install: false })).rejects.toThrow(/no known Debian package provides: no-such-tool-xyz/);
  });
  it("provides the tools the end-to-end tests need (installing them when it can)", async () => {
    const paths = await ensureTools(["docker-registry", "skopeo", "docker"]);
    expect(paths["docker-registry"]).toBe("/usr/bin/docker-registry");
  });
});
