import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { authEntry, createDockerConfig, readAuthFile } from "./docker-config.ts";

describe("authEntry", () => {
  it("encodes Basic credentials as docker does", () => {
    expect(authEntry({ username: "github", password: "jwt" })).toEqual({ auth: Buffer.from("github:jwt").toString("base64") });
  });
  it("stores an identity token with auth = base64(username:), which skopeo 1.9 needs", () => {
    expect(authEntry({ username: "github", identityToken: "refresh" })).toEqual({ auth: "Z2l0aHViOg==", identitytoken: "refresh" });
  });
});

describe("createDockerConfig", () => {
  it("writes config.json readable only by its owner", () => {
    const config = createDockerConfig({ "127.0.0.1:5000": { username: "u", password: "p" } });
    try {
      expect(statSync(config.path).mode & 0o777).toBe(0o600);
      expect(readAuthFile(config.path)).toEqual({ auths: { "127.0.0.1:5000": { auth: "dTpw" } } });
      expect(readFileSync(config.path, "utf8")).not.toContain('"p"');
    } finally {
      config.cleanup();
    }
  });
});
