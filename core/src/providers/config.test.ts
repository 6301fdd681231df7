import { describe, expect, it } from "vitest";
import { formatDiagnostic, parseProvidersConfig, PROVIDER_KEYS, TOP_LEVEL_KEYS, type ConfigResult } from "./config.ts";
import { providersConfigSchema } from "./schema.ts";

const POC = `server: { listenAddress: ":5000", tokenPath: "/auth/token" }
token: { issuer: "https://registry.example.com", duration: 15m, certificate: "/etc/tls/tls.crt", key: "/etc/tls/tls.key" }
providers:
  - name: "gha"
    oidcDiscoveryURL: "https://token.actions.githubusercontent.com"
    authn:
      condition: |
        service == "registry.example.com" && claims["repository_owner"] == "foobar"
    authz:
      condition: |
        scope["action"] == "pull" && scope["type"] == "repository" && scope["name"].startsWith(claims["repository_owner"] + "/")
`;

/** A provider block with the given extra lines, indented for `providers:`. */
function file(...providers: string[][]): string {
  return `providers:\n${providers.map((lines) => lines.map((l, i) => `${i === 0 ? "  - " : "    "}${l}`).join("\n")).join("\n")}\n`;
}

const ok = ["name: gha", "issuer: https://token.actions.githubusercontent.com", "audiences: [registry.example.com]", 'authz: {condition: "scope.action == \'pull\'"}'];
// GitHub's issuer is shared: every provider on it pins an owner id in authn (policy/shared-issuer.ts).
const pin = "authn: {condition: 'claims.repository_owner_id == \"1234567\"'}";
/** `ok` with the owner pin: a GitHub provider that loads without errors. */
const okPinned = [...ok, pin];

function errorsOf(result: ConfigResult): string[] {
  return result.errors.map((d) => `${d.line}:${d.column} ${d.message}`);
}

async function spkiPem(): Promise<string> {
  const { publicKey } = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey("spki", publicKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PUBLIC KEY-----\n${b64.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

describe("parseProvidersConfig", () => {
  it("loads the PoC's config unchanged, reporting what it ignores or no longer assumes", () => {
    const result = parseProvidersConfig(POC, "poc.yaml");
    expect(result.errors).toEqual([]);
    expect(result.providers).toEqual([
      {
        name: "gha",
        issuer: "https://token.actions.githubusercontent.com",
        keys: { source: "discovery", discoveryUrl: "https://token.actions.githubusercontent.com/.well-known/openid-configuration" },
        audiences: [],
        authn: 'service == "registry.example.com" && claims["repository_owner"] == "foobar"\n',
        authz: 'scope["action"] == "pull" && scope["type"] == "repository" && scope["name"].startsWith(claims["repository_owner"] + "/")\n',
        refreshSeconds: 3600,
        // Each condition's first row in the file (the line after `|`), for explanations (issue 10).
        sourceLines: { authn: 8, authz: 11 },
      },
    ]);
    const warnings = result.warnings.map((w) => formatDiagnostic(w, "warning"));
    expect(warnings[0]).toMatch(/^poc\.yaml:1:1: warning: 'server' is ignored/);
    expect(warnings[1]).toMatch(/^poc\.yaml:2:1: warning: 'token' is ignored/);
    expect(warnings[2]).toMatch(/^poc\.yaml:4:5: warning: provider "gha" has no audiences: the PoC checked no audience; tokens must now carry aud equal to the requested service or https:\/\/\+service/);
    // The README's pin by owner name loads, with the fix: the shared issuer's immutable owner id.
    expect(warnings[3]).toBe(
      'poc.yaml:8:46: warning: provider "gha" pins the GitHub owner (organization or user) of the shared GitHub Actions issuer by claims.repository_owner, a name: names can be deleted or renamed and registered again by someone else; pin the immutable claims.repository_owner_id instead (claims.repository_owner_id == "<owner id>")',
    );
    expect(warnings).toHaveLength(4);
  });

  it("reports an unknown key at its line, top level and nested", () => {
    const result = parseProvidersConfig(file([...ok, "oidcDiscoveryUrl: https://x.example", pin]), "f.yaml");
    expect(errorsOf(result)).toEqual([expect.stringMatching(/^6:5 unknown key 'oidcDiscoveryUrl' in provider/)]);
    expect(result.providers).toEqual([]);
    expect(errorsOf(parseProvidersConfig(`${file(okPinned)}extra: 1\n`))).toEqual([expect.stringMatching(/^7:1 unknown key 'extra' in the top level/)]);
    expect(errorsOf(parseProvidersConfig(file([...ok.slice(0, 3), "authz:", "  condition: 'true'", "  conditon: 'true'", pin])))).toEqual([
      expect.stringMatching(/^7:7 unknown key 'conditon' in authz \(expected: condition\)/),
    ]);
  });

  it("reports a CEL syntax error at its line and column in the file", () => {
    const text = file([...ok.slice(0, 3), "authz:", "  condition: |", '    scope.action == "pull" &&', "      claims.sub =="]);
    // The condition's second line is file line 8; `==` starts at column 22 (block indent 8 + CEL column 14).
    expect(errorsOf(parseProvidersConfig(text)).filter((e) => !e.includes("shared GitHub Actions issuer"))).toEqual([expect.stringMatching(/^8:22 authz\.condition: syntax error/)]);
    const inline = file([...ok.slice(0, 3), 'authn: {condition: "claims.sub == "}']);
    expect(errorsOf(parseProvidersConfig(inline))).toEqual([expect.stringMatching(/^5:\d+ authn\.condition: syntax error/)]);
  });

  it("rejects a condition that doesn't give a bool, and variables a condition can't see", () => {
    expect(errorsOf(parseProvidersConfig(file([...ok.slice(0, 3), "authn: {condition: claims.sub}"])))).toEqual([
      expect.stringMatching(/^5:\d+ authn\.condition: condition must evaluate to a bool, but gives string/),
    ]);
    expect(errorsOf(parseProvidersConfig(file([...ok.slice(0, 3), "authn:", "  condition: |", "    true &&", "      scope.action == 'pull'"])))).toEqual([
      expect.stringMatching(/^8:11 authn\.condition: unknown variable 'scope'/),
    ]);
  });

  it("rejects duplicate provider names", () => {
    const result = parseProvidersConfig(file(okPinned, okPinned));
    expect(errorsOf(result)).toEqual([expect.stringMatching(/^7:\d+ duplicate provider name "gha" \(first defined at line 2\)/)]);
  });

  it("requires issuer for static keys and inline JWKS, which the PoC never checked", async () => {
    const pem = await spkiPem();
    const staticKeys = ["name: static", `staticKeys: [{key: ${JSON.stringify(pem)}}]`, "audiences: [r.example]", "authz: {condition: 'true'}"];
    expect(errorsOf(parseProvidersConfig(file(staticKeys)))).toEqual([expect.stringMatching(/^3:5 a staticKeys provider needs issuer: .*add issuer:/)]);
    const fixed = parseProvidersConfig(file([...staticKeys, "issuer: https://issuer.example"]));
    expect(fixed.errors).toEqual([]);
    expect(fixed.providers[0]?.keys).toEqual({ source: "static", pems: [pem] });

    const jwk = { kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", kid: "k1" };
    const jwks = ["name: inline", `jwks: {keys: [${JSON.stringify(jwk)}]}`, "audiences: [r.example]", "authz: {condition: 'true'}"];
    expect(errorsOf(parseProvidersConfig(file(jwks)))).toEqual([expect.stringMatching(/^3:5 a jwks provider needs issuer:/)]);
    const jwksOk = parseProvidersConfig(file([...jwks, "issuer: https://issuer.example"]));
    expect(jwksOk.providers[0]?.keys).toEqual({ source: "jwks", jwks: { keys: [jwk] } });
    const privateJwk = parseProvidersConfig(file([...jwks.slice(0, 1), `jwks: {keys: [${JSON.stringify({ ...jwk, d: "secret" })}]}`, "issuer: https://issuer.example"]));
    expect(errorsOf(privateJwk)).toEqual([expect.stringMatching(/^3:\d+ jwks key has the private member "d"/)]);
  });

  it("takes issuer alone as discovery at the issuer, and insists issuer and oidcDiscoveryURL agree", () => {
    const alone = parseProvidersConfig(file(okPinned));
    expect(alone.providers[0]?.keys).toEqual({ source: "discovery", discoveryUrl: "https://token.actions.githubusercontent.com/.well-known/openid-configuration" });
    const clash = parseProvidersConfig(file([...ok, "oidcDiscoveryURL: https://other.example"]));
    expect(errorsOf(clash)).toEqual([expect.stringMatching(/^3:13 issuer .* differs from oidcDiscoveryURL/)]);
    const both = parseProvidersConfig(file([...ok, "oidcDiscoveryURL: https://token.actions.githubusercontent.com", "staticKeys: [{key: x}]"]));
    expect(errorsOf(both).some((e) => e.includes("give only one of oidcDiscoveryURL, staticKeys, jwks"))).toBe(true);
    expect(errorsOf(parseProvidersConfig(file(["name: nokeys", "authz: {condition: 'true'}"])))[0]).toMatch(/provider needs its keys/);
  });

  it("reads refresh lifetimes as Go durations", () => {
    const refresh = (line: string) => parseProvidersConfig(file([...ok, line, pin]));
    expect(refresh("refresh: false").providers[0]?.refreshSeconds).toBe(0);
    expect(refresh("refresh: {lifetime: 90m}").providers[0]?.refreshSeconds).toBe(5400);
    expect(refresh("refresh: {lifetime: 1h30m}").providers[0]?.refreshSeconds).toBe(5400);
    expect(parseProvidersConfig(file(okPinned)).providers[0]?.refreshSeconds).toBe(3600);
    expect(errorsOf(refresh("refresh: {lifetime: 3600}"))[0]).toMatch(/^6:\d+ refresh\.lifetime .*must be a string/);
    expect(errorsOf(refresh("refresh: {lifetime: 10s}"))[0]).toMatch(/refresh\.lifetime must be from 60s/);
    expect(errorsOf(refresh("refresh: {lifetime: 1.5s}"))[0]).toMatch(/not a duration in whole seconds/);
    expect(errorsOf(refresh("refresh: {ttl: 1h}"))[0]).toMatch(/unknown key 'ttl' in refresh/);
  });

  it("reads maxTokenLifetime as a Go duration, and leaves it out (the 24 h default) when absent", () => {
    const lifetime = (line: string) => parseProvidersConfig(file([...ok, line, pin]));
    expect(lifetime("maxTokenLifetime: 10m").providers[0]?.maxTokenLifetimeSeconds).toBe(600);
    expect(lifetime("maxTokenLifetime: 8784h").providers[0]?.maxTokenLifetimeSeconds).toBe(366 * 86400);
    expect(parseProvidersConfig(file(okPinned)).providers[0]).not.toHaveProperty("maxTokenLifetimeSeconds");
    expect(errorsOf(lifetime("maxTokenLifetime: 30s"))).toEqual([expect.stringMatching(/^6:\d+ maxTokenLifetime "30s" must be a whole number of seconds from 60 \(1m\) to 31622400 \(8784h\)/)]);
    expect(errorsOf(lifetime("maxTokenLifetime: 9000h"))[0]).toMatch(/maxTokenLifetime "9000h" must be/);
    expect(errorsOf(lifetime("maxTokenLifetime: forever"))[0]).toMatch(/maxTokenLifetime "forever" must be a duration like "24h"/);
    expect(errorsOf(lifetime("maxTokenLifetime: 86400"))[0]).toMatch(/maxTokenLifetime .*must be a string/);
  });

  it("rejects wrong types without casting them", () => {
    expect(errorsOf(parseProvidersConfig(file(["name: 123", ...okPinned.slice(1)])))).toEqual([expect.stringMatching(/^2:11 name must be a string/)]);
    expect(errorsOf(parseProvidersConfig(file([...ok.slice(0, 2), "audiences: registry.example.com", pin])))[0]).toMatch(/^4:16 audiences must be a list/);
    expect(errorsOf(parseProvidersConfig(file([...ok.slice(0, 3), "authz: 'true'", pin])))[0]).toMatch(/^5:12 authz must be a mapping/);
    expect(errorsOf(parseProvidersConfig("providers: {gha: 1}\n"))[0]).toMatch(/^1:12 providers must be a list/);
    expect(errorsOf(parseProvidersConfig("- 1\n"))[0]).toMatch(/^1:1 the file must be a mapping/);
    expect(errorsOf(parseProvidersConfig(file(["name: Bad_Name", ...ok.slice(1)])))[0]).toMatch(/^2:11 name "Bad_Name" must match/);
  });

  it("reports YAML errors, duplicate keys and aliases with their lines", () => {
    expect(errorsOf(parseProvidersConfig("providers:\n  - name: a\n    name: b\n"))[0]).toMatch(/^3:5 .*unique/i);
    expect(errorsOf(parseProvidersConfig("providers: [\n"))[0]).toMatch(/^\d+:\d+ /);
    const aliased = "x: &c {condition: 'true'}\n" + file([...ok.slice(0, 3), "authz: *c"]);
    expect(errorsOf(parseProvidersConfig(aliased)).some((e) => /^6:12 YAML aliases/.test(e))).toBe(true);
  });

  it("warns when a provider grants everything, and when a condition can't be checked on the samples", () => {
    const result = parseProvidersConfig(file([...ok.slice(0, 3), pin]));
    expect(result.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/has no authz condition: every requested scope/)]);
    const unchecked = parseProvidersConfig(file([...ok.slice(0, 3), pin, "authz: {condition: 'claims.custom == \"x\"'}"]));
    expect(unchecked.errors).toEqual([]);
    expect(unchecked.warnings[0]?.message).toMatch(/could not be evaluated on any sample claims \(field not found: custom/);
  });

  it("refuses a shared-issuer provider without an owner pin, at the line to fix", () => {
    const noAuthn = parseProvidersConfig(file(ok), "f.yaml");
    expect(noAuthn.providers).toEqual([]);
    expect(noAuthn.errors.map((d) => formatDiagnostic(d, "error"))).toEqual([
      expect.stringMatching(/^f\.yaml:3:13: error: provider "gha" trusts the shared GitHub Actions issuer .* has no authn condition.*add authn: \{condition: 'claims\.repository_owner_id == "<owner id>"'\}/),
    ]);
    // The PoC's empty authn is no authn.
    expect(errorsOf(parseProvidersConfig(file([...ok, "authn: {condition: ''}"])))).toEqual([expect.stringMatching(/^3:13 .*has no authn condition/)]);
    const unpinned = file([...ok, "authn:", "  condition: |", '    claims.ref == "refs/heads/main" ||', '    claims.repository_owner_id == "1234567"']);
    expect(errorsOf(parseProvidersConfig(unpinned))).toEqual([expect.stringMatching(/^8:9 provider "gha": authn does not pin the GitHub owner .*pin claims\.repository_owner_id or claims\.repository_id/)]);
    // oidcDiscoveryURL is the issuer too; GitLab.com likewise.
    expect(errorsOf(parseProvidersConfig(file(["name: gl", "oidcDiscoveryURL: https://gitlab.com", "audiences: [r.example]", "authz: {condition: 'true'}"])))).toEqual([
      expect.stringMatching(/^3:23 .*shared GitLab\.com CI\/CD issuer .*claims\.namespace_id == "<namespace id>"/),
    ]);
  });

  it("takes sharedIssuer: unpinned-acknowledged as a warning, and keeps it in the provider for /healthz", () => {
    const acknowledged = parseProvidersConfig(file([...ok, "sharedIssuer: unpinned-acknowledged"]));
    expect(acknowledged.errors).toEqual([]);
    expect(acknowledged.providers[0]?.sharedIssuer).toBe("unpinned-acknowledged");
    expect(acknowledged.warnings.map((w) => `${w.line}:${w.column} ${w.message}`)).toEqual([expect.stringMatching(/^3:13 provider "gha" trusts the shared .*acknowledged with sharedIssuer: unpinned-acknowledged; \/healthz lists it/)]);
    expect(parseProvidersConfig(file(okPinned)).providers[0]).not.toHaveProperty("sharedIssuer");
    expect(errorsOf(parseProvidersConfig(file([...ok, "sharedIssuer: yes"])))).toContainEqual(expect.stringMatching(/^6:19 sharedIssuer must be unpinned-acknowledged/));
    const needless = parseProvidersConfig(file([...okPinned, "sharedIssuer: unpinned-acknowledged"]));
    expect(needless.warnings.map((w) => `${w.line}:${w.column} ${w.message}`)).toEqual([expect.stringMatching(/^7:19 sharedIssuer: unpinned-acknowledged has no effect: authn pins claims\.repository_owner_id/)]);
  });

  it("takes rateLimit: off|default|strict, storing only off and strict (default is the absence)", () => {
    expect(parseProvidersConfig(file([...okPinned, "rateLimit: strict"])).providers[0]?.rateLimit).toBe("strict");
    expect(parseProvidersConfig(file([...okPinned, "rateLimit: off"])).providers[0]?.rateLimit).toBe("off");
    expect(parseProvidersConfig(file([...okPinned, "rateLimit: default"])).providers[0]).not.toHaveProperty("rateLimit");
    expect(parseProvidersConfig(file(okPinned)).providers[0]).not.toHaveProperty("rateLimit");
    expect(errorsOf(parseProvidersConfig(file([...okPinned, "rateLimit: loose"])))).toContainEqual(expect.stringMatching(/^7:\d+ rateLimit must be one of off, default, strict/));
    expect(errorsOf(parseProvidersConfig(file([...okPinned, "rateLimit: 100"])))).toContainEqual(expect.stringMatching(/^7:\d+ rateLimit must be a string/));
  });

  it("knows exactly the keys its JSON Schema declares", () => {
    expect(Object.keys(providersConfigSchema.properties).sort()).toEqual([...TOP_LEVEL_KEYS].sort());
    expect(Object.keys(providersConfigSchema.properties.providers.items.properties).sort()).toEqual([...PROVIDER_KEYS].sort());
  });

  it("records the file line of each condition's first row: block, plain and quoted scalars (issue 10)", () => {
    const text = [
      "providers:", //                                         1
      "  - name: block", //                                    2
      "    issuer: https://token.actions.githubusercontent.com", // 3
      "    audiences: [r]", //                                 4
      "    authn:", //                                         5
      "      condition: |", //                                 6
      '        claims.repository_owner_id == "1" &&', //       7
      '          claims.ref == "refs/heads/main"', //          8
      "    authz:", //                                         9
      "      condition: scope.action == 'pull'", //           10 (plain)
      "  - name: quoted", //                                  11
      "    issuer: https://q.example", //                     12
      "    audiences: [r]", //                                13
      '    authz: {condition: "scope.action == \'pull\'"}', // 14 (double-quoted, flow mapping)
      "    authn:", //                                        15
      "      condition: >-", //                               16
      "        claims.sub == 'x'", //                         17 (folded)
      "  - name: none", //                                    18
      "    issuer: https://n.example", //                     19
      "    audiences: [r]", //                                20
      "    authz:", //                                        21
      "      condition: ''", //                               22 (empty: not applied, no line)
    ].join("\n");
    const result = parseProvidersConfig(`${text}\n`, "lines.yaml");
    expect(result.errors).toEqual([]);
    expect(result.providers.map((p) => [p.name, p.sourceLines])).toEqual([
      ["block", { authn: 7, authz: 10 }],
      ["quoted", { authz: 14, authn: 17 }],
      ["none", undefined],
    ]);
  });
});
