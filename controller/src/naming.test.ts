import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_NAME_LENGTH, pullSecretName } from "./naming.ts";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** ServiceAccount names are RFC 1123 subdomains themselves. */
const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const saName = fc
  .array(label, { minLength: 1, maxLength: 6 })
  .map((labels) => labels.join("."))
  .filter((name) => name.length <= MAX_NAME_LENGTH);
const host = fc.tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([labels, port]) => labels.join(".") + (port ? `:${port}` : ""));

describe("pullSecretName", () => {
  it("joins the ServiceAccount and a DNS-safe form of the host", () => {
    expect(pullSecretName("builder", "registry.example.com")).toBe("builder-registry-registry.example.com");
    expect(pullSecretName("default", "127.0.0.1:5000")).toBe("default-registry-127.0.0.1-5000");
    expect(pullSecretName("app", "Registry.EXAMPLE:443")).toBe("app-registry-registry.example-443");
  });

  it("cuts a long name to exactly 253 characters, with a hash of the full name", () => {
    const sa = "a".repeat(250);
    const name = pullSecretName(sa, "registry.example.com");
    expect(name).toHaveLength(MAX_NAME_LENGTH);
    expect(name).toMatch(/^a+-[0-9a-f]{10}$/);
    expect(pullSecretName(sa, "registry.example.com")).toBe(name);
    expect(pullSecretName(sa, "registry.example.org")).not.toBe(name);
  });

  it("never leaves a dot next to a dash where the cut falls", () => {
    const sa = `${"a".repeat(241)}.${"b".repeat(11)}`;
    const name = pullSecretName(sa, "r.example");
    expect(name).toMatch(DNS1123_SUBDOMAIN);
    expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  });

  it("is always a valid Secret name, deterministic, and distinct for distinct inputs", () => {
    fc.assert(
      fc.property(saName, host, saName, host, (sa1, h1, sa2, h2) => {
        const n1 = pullSecretName(sa1, h1);
        expect(n1.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
        expect(n1).toMatch(DNS1123_SUBDOMAIN);
        expect(pullSecretName(sa1, h1)).toBe(n1);
        const sameSanitised = sa1 === sa2 && h1.replace(":", "-") === h2.replace(":", "-");
        if (!sameSanitised) expect(pullSecretName(sa2, h2)).not.toBe(n1);
      }),
      { numRuns: 500 },
    );
  });
});
