import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { keysCommand } from "./command.ts";
import { wranglerDevVars } from "./wrangler-dev-vars.ts";
import { expired, es256a, es256b } from "@jwt-registry-auth/core/signing-keys/fixtures/openssl-keys";

let dir: string;
let out: string[];
let err: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "jra-keys-"));
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void out.push(args.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void err.push(args.join(" ")));
});

afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const stdout = () => out.join("\n");
const stderr = () => err.join("\n");
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("keys generate", () => {
  it.each(["ES256", "RS256"])("writes the %s key (0600), certificate and JWKS, and prints kid, KeyID, notAfter and the registry config", async (alg) => {
    const keys = join(dir, "keys");
    expect(await keysCommand(["generate", "--out", keys, "--alg", alg, "--days", "10", "--service", "reg.example", "--realm", "https://auth.example/token"])).toBe(0);
    expect(readdirSync(keys).sort()).toEqual(["jwks.json", "signing-cert.pem", "signing-key.pem"]);
    expect(modeOf(join(keys, "signing-key.pem"))).toBe(0o600);
    expect(modeOf(join(keys, "signing-cert.pem"))).toBe(0o644);
    const jwks = JSON.parse(readFileSync(join(keys, "jwks.json"), "utf8")) as { keys: { kid: string; alg: string }[] };
    const kid = jwks.keys[0]?.kid ?? "missing";
    expect(jwks.keys[0]?.alg).toBe(alg);
    const cert = new X509Certificate(readFileSync(join(keys, "signing-cert.pem")));
    const text = stdout();
    expect(text).toContain(`kid:            ${kid}`);
    expect(text).toMatch(/libtrust KeyID: ([A-Z2-7]{4}:){11}[A-Z2-7]{4}\n/);
    expect(text).toContain(`notAfter:       ${new Date(cert.validTo).toISOString()}`);
    expect(text).toContain(["auth:", "  token:", "    realm: https://auth.example/token", "    service: reg.example", "    issuer: jwt-registry-auth"].join("\n"));
    expect(text).toContain(`    rootcertbundle: ${resolve(keys, "signing-cert.pem")}`);
    expect(text).toContain(`    # jwks: ${resolve(keys, "jwks.json")}`);
    expect(text).not.toContain("PRIVATE KEY");

    out = [];
    expect(await keysCommand(["show", "--dir", keys])).toBe(0);
    expect(stdout()).toContain(`kid:            ${kid}`);
    expect(stdout()).toContain(`alg:            ${alg}`);
    expect(stdout()).toMatch(/\(valid\)/);
  });

  it("refuses to overwrite existing files without --force, and changes nothing", async () => {
    writeFileSync(join(dir, "jwks.json"), "mine");
    expect(await keysCommand(["generate", "--out", dir])).toBe(1);
    expect(stderr()).toMatch(/refusing to overwrite .*jwks\.json \(use --force/);
    expect(readdirSync(dir)).toEqual(["jwks.json"]);
    expect(readFileSync(join(dir, "jwks.json"), "utf8")).toBe("mine");

    expect(await keysCommand(["generate", "--out", dir, "--force"])).toBe(0);
    expect(readFileSync(join(dir, "jwks.json"), "utf8")).toMatch(/"keys"/);
    expect(readdirSync(dir).sort()).toEqual(["jwks.json", "signing-cert.pem", "signing-key.pem"]);
  });

  it("sets SIGNING_KEY and SIGNING_CERT in --dev-vars so wrangler reads the same PEMs, keeping other lines", async () => {
    const devVars = join(dir, ".dev.vars");
    writeFileSync(devVars, 'TOKEN_ISSUER="dev"\nSIGNING_KEY="old"\n', { mode: 0o640 });
    expect(await keysCommand(["generate", "--out", join(dir, "k"), "--dev-vars", devVars])).toBe(0);
    const vars = wranglerDevVars(readFileSync(devVars, "utf8"));
    expect(vars).toEqual({ TOKEN_ISSUER: "dev", SIGNING_KEY: readFileSync(join(dir, "k", "signing-key.pem"), "utf8"), SIGNING_CERT: readFileSync(join(dir, "k", "signing-cert.pem"), "utf8") });
    expect(modeOf(devVars)).toBe(0o640);

    const fresh = join(dir, "fresh.dev.vars");
    expect(await keysCommand(["generate", "--out", join(dir, "k2"), "--dev-vars", fresh])).toBe(0);
    expect(modeOf(fresh)).toBe(0o600);
  });

  it("writes nothing when the .dev.vars file can't be written", async () => {
    expect(await keysCommand(["generate", "--out", join(dir, "k"), "--dev-vars", join(dir, "no-such-dir", ".dev.vars")])).toBe(1);
    expect(stderr()).toMatch(/could not write the key files: ENOENT/);
    expect(readdirSync(join(dir, "k"))).toEqual([]);
  });

  it.each([
    [["generate", "--out", ""], /--out needs a directory/],
    [["generate", "--out", "x", "--alg", "EdDSA"], /Ed25519 can't sign registry tokens: Distribution 2.8 panics/],
    [["generate", "--out", "x", "--alg", "ES384"], /--alg must be ES256 or RS256/],
    [["generate", "--out", "x", "--days", "0"], /--days must be a whole number/],
    [["generate", "--out", "x", "--days", "1e3"], /--days must be a whole number/],
    [["generate", "--out", "x", "--subject", ""], /--subject must be 1 to 64/],
    [["generate", "--out", "x", "--bogus"], /Unknown option '--bogus'/],
    [["show"], /either --dir DIR or both --key FILE and --cert FILE/],
    [["show", "--dir", "x", "--key", "y"], /either --dir DIR or both/],
    [["show", "--key", "y"], /either --dir DIR or both/],
    [["rotate"], /unknown subcommand "rotate"/],
    [[], /missing subcommand/],
  ])("exits 2 with usage for %j", async (argv, message) => {
    expect(await keysCommand(argv)).toBe(2);
    expect(stderr()).toMatch(message);
    expect(stderr()).toContain("Usage:");
    expect(existsSync("x")).toBe(false);
  });
});

describe("keys show", () => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("lists every key of a rotation set, the signing one first", async () => {
    expect(await keysCommand(["show", "--key", write("k.pem", es256a.key + es256b.key), "--cert", write("c.pem", es256b.cert + es256a.cert)])).toBe(0);
    expect(stdout()).toMatch(/^key 1 \(signs\):/);
    expect(stdout()).toMatch(/\nkey 2:/);
    expect(stdout()).toContain(`libtrust KeyID: ${es256a.libtrustKeyId}`);
    expect(stdout()).toContain(`libtrust KeyID: ${es256b.libtrustKeyId}`);
    expect(stdout().indexOf(es256a.libtrustKeyId)).toBeLessThan(stdout().indexOf(es256b.libtrustKeyId));
  });

  it("shows an expired key and exits 1, naming the certificate file", async () => {
    const cert = write("c.pem", expired.cert);
    expect(await keysCommand(["show", "--key", write("k.pem", expired.key), "--cert", cert])).toBe(1);
    expect(stdout()).toContain("notAfter:       2020-01-02T00:00:00.000Z (EXPIRED)");
    expect(stderr()).toContain(`${cert}: SIGNING_CERT: the certificate of key 1`);
  });

  it("exits 1 for a key and certificate that don't match", async () => {
    expect(await keysCommand(["show", "--key", write("k.pem", es256a.key), "--cert", write("c.pem", es256b.cert)])).toBe(1);
    expect(stderr()).toMatch(/no certificate for key 1/);
  });

  it("exits 1 for missing files", async () => {
    expect(await keysCommand(["show", "--dir", join(dir, "nothing")])).toBe(1);
    expect(stderr()).toMatch(/could not read the key files: ENOENT/);
  });
});
