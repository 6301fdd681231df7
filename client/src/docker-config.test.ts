import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  addLogin,
  DockerConfigError,
  dockerConfigPath,
  entryFingerprint,
  identityTokenEntry,
  passwordEntry,
  readDockerConfig,
  removeLogin,
  addCredentialHelper,
  removeCredentialHelper,
} from "./docker-config.ts";

const tempDir = () => mkdtempSync(join(tmpdir(), "docker-config-test-"));
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
const mode = (path: string) => statSync(path).mode & 0o777;

const FOREIGN = {
  auths: {
    "ghcr.io": { auth: "Z2hjcjp0b2tlbg==" },
    "https://index.docker.io/v1/": { auth: "aHViOnB3" },
  },
  credHelpers: { "123456789012.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" },
  proxies: { default: { httpProxy: "http://proxy:3128" } },
  experimental: "enabled",
};

describe("entries as docker login writes them", () => {
  it("password entry: base64(provider:jwt)", () => {
    expect(passwordEntry("github", "a.b.c")).toEqual({ auth: Buffer.from("github:a.b.c").toString("base64") });
  });

  it("identity token entry: base64(provider:) beside the token (skopeo 1.9 needs auth)", () => {
    expect(identityTokenEntry("user", "k8z2su1TG0GPHSlC-LY6y4Lk1MSrgKX3")).toEqual({ auth: "dXNlcjo=", identitytoken: "k8z2su1TG0GPHSlC-LY6y4Lk1MSrgKX3" });
  });

  it("fingerprints differ per credential and hold no credential", () => {
    const a = entryFingerprint(identityTokenEntry("p", "token-a"));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(entryFingerprint(identityTokenEntry("p", "token-b")));
    expect(entryFingerprint(passwordEntry("p", "x"))).not.toBe(entryFingerprint({ auth: passwordEntry("p", "x").auth, identitytoken: "y" }));
  });
});

describe("dockerConfigPath", () => {
  it("uses DOCKER_CONFIG, else ~/.docker", () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: "/tmp/dc" }, "/home/runner")).toBe("/tmp/dc/config.json");
    expect(dockerConfigPath({ DOCKER_CONFIG: "" }, "/home/runner")).toBe("/home/runner/.docker/config.json");
    expect(dockerConfigPath({}, "/home/runner")).toBe("/home/runner/.docker/config.json");
  });
});

describe("addLogin / removeLogin", () => {
  it("adds its entry and keeps every foreign entry, credHelpers and other settings", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify(FOREIGN));
    const entry = identityTokenEntry("github", "rt");
    expect(addLogin(path, "registry.example.com", entry)).toEqual({ replaced: false });
    expect(readJson(path)).toEqual({ ...FOREIGN, auths: { ...FOREIGN.auths, "registry.example.com": entry } });
  });

  it("removes exactly its own entry and nothing else", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify(FOREIGN));
    const entry = passwordEntry("github", "a.b.c");
    addLogin(path, "registry.example.com", entry);
    expect(removeLogin(path, "registry.example.com", entryFingerprint(entry))).toBe("removed");
    expect(readJson(path)).toEqual(FOREIGN);
  });

  it("creates a missing file and its directory, mode 0600, and removing leaves an empty auths", () => {
    const path = join(tempDir(), "nested", ".docker", "config.json");
    const entry = passwordEntry("p", "j.w.t");
    addLogin(path, "r.example:5000", entry);
    expect(mode(path)).toBe(0o600);
    expect(readJson(path)).toEqual({ auths: { "r.example:5000": entry } });
    removeLogin(path, "r.example:5000", entryFingerprint(entry));
    expect(readJson(path)).toEqual({ auths: {} });
  });

  it("tightens a world-readable file to 0600 and leaves no temp file behind", () => {
    const dir = tempDir();
    const path = join(dir, "config.json");
    writeFileSync(path, "{}");
    chmodSync(path, 0o644);
    addLogin(path, "r.example", passwordEntry("p", "x"));
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["config.json"]);
  });

  it("treats an empty file as an empty config", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, "\n");
    addLogin(path, "r.example", passwordEntry("p", "x"));
    expect(readJson(path)).toEqual({ auths: { "r.example": passwordEntry("p", "x") } });
  });

  it("replaces an existing entry for the same registry and says so", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify({ auths: { "r.example": { auth: "b2xkOm9sZA==" } } }));
    expect(addLogin(path, "r.example", passwordEntry("p", "x")).replaced).toBe(true);
  });

  it("reports a credential helper or store that docker would ask instead", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify({ credHelpers: { "r.example": "gcloud" } }));
    expect(addLogin(path, "r.example", passwordEntry("p", "x")).shadowedBy).toBe('credHelpers["r.example"] = gcloud');
    writeFileSync(path, JSON.stringify({ credsStore: "desktop" }));
    expect(addLogin(path, "r.example", passwordEntry("p", "x")).shadowedBy).toBe("credsStore = desktop");
  });

  it("leaves an entry that was replaced since login alone", () => {
    const path = join(tempDir(), "config.json");
    const ours = identityTokenEntry("p", "ours");
    addLogin(path, "r.example", ours);
    const theirs = { auth: "dGhlaXJzOnB3" };
    writeFileSync(path, JSON.stringify({ auths: { "r.example": theirs } }));
    expect(removeLogin(path, "r.example", entryFingerprint(ours))).toBe("changed");
    expect(readJson(path)).toEqual({ auths: { "r.example": theirs } });
  });

  it("still recognises its entry after docker rewrote the file with other fields reordered", () => {
    const path = join(tempDir(), "config.json");
    const ours = identityTokenEntry("p", "ours");
    writeFileSync(path, JSON.stringify({ auths: { "r.example": { identitytoken: "ours", auth: ours.auth } }, currentContext: "default" }));
    expect(removeLogin(path, "r.example", entryFingerprint(ours))).toBe("removed");
    expect(readJson(path)).toEqual({ auths: {}, currentContext: "default" });
  });

  it("logout of a missing file or entry is a no-op", () => {
    const dir = tempDir();
    expect(removeLogin(join(dir, "config.json"), "r.example", "0".repeat(64))).toBe("absent");
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, "config.json"), JSON.stringify(FOREIGN));
    expect(removeLogin(join(dir, "config.json"), "r.example", "0".repeat(64))).toBe("absent");
    expect(readJson(join(dir, "config.json"))).toEqual(FOREIGN);
  });

  it.each([
    ["{not json", /is not valid JSON .*it was not modified/],
    ["[1,2]", /must hold a JSON object/],
    ['{"auths": []}', /"auths" must be an object/],
    ['{"auths": "x"}', /"auths" must be an object/],
  ])("refuses a malformed file %j with a clear error and does not touch it", (text, message) => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, text);
    expect(() => addLogin(path, "r.example", passwordEntry("p", "x"))).toThrow(DockerConfigError);
    expect(() => addLogin(path, "r.example", passwordEntry("p", "x"))).toThrow(message);
    expect(() => removeLogin(path, "r.example", "0".repeat(64))).toThrow(message);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  it("writes through a symlinked config to its target, as docker does", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real", "config.json"), JSON.stringify(FOREIGN));
    symlinkSync(join(dir, "real", "config.json"), join(dir, "config.json"));
    addLogin(join(dir, "config.json"), "r.example", passwordEntry("p", "x"));
    expect(readJson(join(dir, "real", "config.json"))).toMatchObject({ auths: { "r.example": passwordEntry("p", "x") } });
    expect(readDockerConfig(join(dir, "config.json"))).toEqual(readJson(join(dir, "real", "config.json")));
  });

  it("fails with a clear error, not a crash, when the file cannot be written", () => {
    // A file where the directory should be: unwritable even for root, which ignores permission bits.
    const blocked = join(tempDir(), "file-not-dir");
    writeFileSync(blocked, "");
    expect(() => addLogin(join(blocked, "config.json"), "r.example", passwordEntry("p", "x"))).toThrow(DockerConfigError);
    expect(() => addLogin(join(blocked, "config.json"), "r.example", passwordEntry("p", "x"))).toThrow(/cannot (read|write) docker config/);
  });
});

describe("addCredentialHelper / removeCredentialHelper", () => {
  it("removes only the entry it added, restores the helper it replaced, and leaves an entry changed since alone", () => {
    const path = join(tempDir(), "config.json");
    writeFileSync(path, JSON.stringify(FOREIGN));
    const ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    expect(addCredentialHelper(path, "r.example")).toEqual({ unchanged: false });
    expect(addCredentialHelper(path, ecr)).toEqual({ unchanged: false, replaced: "ecr-login" });
    expect(removeCredentialHelper(path, ecr, "ecr-login")).toBe("removed");
    expect(removeCredentialHelper(path, "r.example")).toBe("removed");
    expect(readJson(path)).toEqual(FOREIGN);
    expect(removeCredentialHelper(path, "r.example")).toBe("absent");
    expect(removeCredentialHelper(path, ecr)).toBe("changed");
    expect(readJson(path)).toEqual(FOREIGN);
  });

  it("drops credHelpers when its last entry goes", () => {
    const path = join(tempDir(), "auth.json");
    addCredentialHelper(path, "r.example");
    expect(removeCredentialHelper(path, "r.example")).toBe("removed");
    expect(readJson(path)).toEqual({});
    expect(mode(path)).toBe(0o600);
  });
});
