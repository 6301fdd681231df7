import { describe, expect, it } from "vitest";
import { registryOf } from "./image-registry.ts";

describe("registryOf", () => {
  it.each([
    ["127.0.0.1:5000/team-a/app:v1", "127.0.0.1:5000"],
    ["registry.example.com/app", "registry.example.com"],
    ["Registry.Example.com/app@sha256:" + "a".repeat(64), "registry.example.com"],
    ["localhost/app:latest", "localhost"],
    ["[::1]:5000/app", "[::1]:5000"],
    ["ubuntu:22.04", "docker.io"],
    ["library/ubuntu", "docker.io"],
  ])("%s → %s", (image, host) => {
    expect(registryOf(image)).toBe(host);
  });

  it.each(["", "/app", "registry.example.com/", "registry.example.com/App", "r.example/a b", "r.example/app:"])("rejects %j", (image) => {
    expect(registryOf(image)).toBeUndefined();
  });
});
