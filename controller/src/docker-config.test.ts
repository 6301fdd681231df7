import { describe, expect, it } from "vitest";
import { dockerAuthFor, dockerConfig } from "./docker-config.ts";

describe("dockerConfig", () => {
  it("writes auths.<host> with username, password and auth", () => {
    expect(dockerConfig("127.0.0.1:5000", "kubernetes", "tok")).toEqual({
      auths: { "127.0.0.1:5000": { username: "kubernetes", password: "tok", auth: Buffer.from("kubernetes:tok").toString("base64") } },
    });
  });

  it("reads back a complete entry only", () => {
    const payload = JSON.stringify(dockerConfig("r.example", "k", "t"));
    expect(dockerAuthFor(payload, "r.example")).toMatchObject({ username: "k", password: "t" });
    expect(dockerAuthFor(payload, "other.example")).toBeUndefined();
    expect(dockerAuthFor(JSON.stringify({ auths: { "r.example": { username: "k", password: "" } } }), "r.example")).toBeUndefined();
    expect(dockerAuthFor("{not json", "r.example")).toBeUndefined();
    expect(dockerAuthFor("null", "r.example")).toBeUndefined();
  });
});
