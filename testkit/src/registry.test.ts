import { describe, expect, it } from "vitest";
import { afterAll, beforeAll } from "vitest";
import { createDockerConfig, dockerManifestInspect } from "./docker-config.ts";
import { buildOciImage, type OciImage } from "./image.ts";
import { startRegistry } from "./registry.ts";
import { skopeoCopy, skopeoInspect } from "./skopeo.ts";

let image: OciImage;
beforeAll(async () => {
  image = await buildOciImage();
});
afterAll(() => image.cleanup());

describe("startRegistry", () => {
  it("without auth: skopeo pushes and pulls, storage shows the repository", async () => {
    const registry = await startRegistry({ auth: { kind: "none" } });
    try {
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(200);
      const push = await skopeoCopy(image.reference, `docker://${registry.host}/lib/app:v1`);
      expect(push.code, push.stderr).toBe(0);
      expect((await skopeoInspect(`docker://${registry.host}/lib/app:v1`)).digest).toBe(image.manifest.digest);
      expect(registry.storedRepositories()).toEqual(["lib/app"]);
      expect(registry.logs()).toContain('"PUT /v2/lib/app/manifests/v1 HTTP/1.1" 201');
    } finally {
      await registry.stop();
    }
  });

  it("with htpasswd: right credentials work for skopeo and docker, none and wrong ones are refused", async () => {
    const registry = await startRegistry({ auth: { kind: "htpasswd", users: { alice: "s3cret" } } });
    const good = createDockerConfig({ [registry.host]: { username: "alice", password: "s3cret" } });
    const bad = createDockerConfig({ [registry.host]: { username: "alice", password: "wrong" } });
    try {
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
      expect((await skopeoCopy(image.reference, `docker://${registry.host}/team/app:v1`, { authFile: good.path })).code).toBe(0);
      expect((await skopeoInspect(`docker://${registry.host}/team/app:v1`, { authFile: bad.path })).code).not.toBe(0);
      expect((await skopeoInspect(`docker://${registry.host}/team/app:v1`)).code).not.toBe(0);
      const inspect = await dockerManifestInspect(`${registry.host}/team/app:v1`, { configDir: good.dir });
      expect(inspect.code, inspect.stderr).toBe(0);
      expect(JSON.parse(inspect.stdout)).toMatchObject({ config: { digest: image.config.digest } });
    } finally {
      good.cleanup();
      bad.cleanup();
      await registry.stop();
    }
  });

  it("a port in use fails with the registry's own log", async () => {
    const first = await startRegistry({ auth: { kind: "none" } });
    try {
      await expect(startRegistry({ auth: { kind: "none" }, port: first.port })).rejects.toThrow(/process exited[\s\S]*address already in use/);
    } finally {
      await first.stop();
    }
  });
});
