import { describe, expect, it } from "vitest";
import type { V1ServiceAccount } from "@kubernetes/client-node";
import { SECRET_ANNOTATIONS } from "./annotations.ts";
import type { RegistryConfig } from "./config.ts";
import { assessPullSecret, buildPullSecret, isManagedPullSecret } from "./pull-secret.ts";
import { tokenSha256 } from "./token-digest.ts";

const sa: V1ServiceAccount = { metadata: { name: "app", namespace: "team-a", uid: "uid-1" } };
const registry: RegistryConfig = { host: "r.example:5000", provider: "cluster", audience: "https://r.example:5000", durationSeconds: 3600 };
const grant = { token: "header.payload.sig", issuedAtMs: Date.UTC(2026, 0, 1), expiresAtMs: Date.UTC(2026, 0, 1, 1), rotateAtMs: Date.UTC(2026, 0, 1, 0, 20) };

describe("buildPullSecret", () => {
  const secret = buildPullSecret(sa, registry, "app-registry-r.example-5000", grant);

  it("is a dockerconfigjson Secret owned by the ServiceAccount", () => {
    expect(secret).toMatchObject({
      type: "kubernetes.io/dockerconfigjson",
      metadata: { name: "app-registry-r.example-5000", namespace: "team-a", ownerReferences: [{ apiVersion: "v1", kind: "ServiceAccount", name: "app", uid: "uid-1" }] },
    });
    const payload = JSON.parse(Buffer.from(secret.data?.[".dockerconfigjson"] as string, "base64").toString());
    expect(payload.auths["r.example:5000"]).toMatchObject({ username: "cluster", password: "header.payload.sig" });
  });

  it("records the schedule and the token's hash, never the token, in annotations", () => {
    expect(secret.metadata?.annotations).toMatchObject({
      [SECRET_ANNOTATIONS.issuedAt]: "2026-01-01T00:00:00Z",
      [SECRET_ANNOTATIONS.expiresAt]: "2026-01-01T01:00:00Z",
      [SECRET_ANNOTATIONS.rotateAt]: "2026-01-01T00:20:00Z",
      [SECRET_ANNOTATIONS.tokenSha256]: tokenSha256("header.payload.sig"),
    });
    expect(JSON.stringify(secret.metadata)).not.toContain("header.payload.sig");
  });

  it("is recognised as ours only for the same ServiceAccount and registry", () => {
    expect(isManagedPullSecret(secret, "app", "r.example:5000")).toBe(true);
    expect(isManagedPullSecret(secret, "other", "r.example:5000")).toBe(false);
    expect(isManagedPullSecret(secret, "app", "r.example")).toBe(false);
    expect(isManagedPullSecret({ metadata: { name: secret.metadata?.name as string, annotations: secret.metadata?.annotations as Record<string, string> } }, "app", "r.example:5000")).toBe(false);
  });
});

describe("assessPullSecret", () => {
  const secret = buildPullSecret(sa, registry, "n", grant);
  const before = grant.rotateAtMs - 1;

  it("keeps a current Secret until its rotation time, read from annotations", () => {
    expect(assessPullSecret(secret, sa, registry, before)).toEqual({ keep: { rotateAtMs: grant.rotateAtMs, expiresAtMs: grant.expiresAtMs } });
    expect(assessPullSecret(secret, sa, registry, grant.rotateAtMs)).toEqual({ renew: "rotation-due" });
  });

  it("renews a missing, re-owned, reconfigured or tampered Secret", () => {
    expect(assessPullSecret(undefined, sa, registry, before)).toEqual({ renew: "missing" });
    expect(assessPullSecret(secret, { metadata: { ...sa.metadata, uid: "uid-2" } }, registry, before)).toEqual({ renew: "owner-changed" });
    expect(assessPullSecret(secret, sa, { ...registry, audience: "other" }, before)).toEqual({ renew: "config-changed" });
    expect(assessPullSecret(secret, sa, { ...registry, provider: "other" }, before)).toEqual({ renew: "config-changed" });
    const emptied = { ...secret, data: { ".dockerconfigjson": Buffer.from("{}").toString("base64") } };
    expect(assessPullSecret(emptied, sa, registry, before)).toEqual({ renew: "malformed" });
    const badTime = { ...secret, metadata: { ...secret.metadata, annotations: { ...secret.metadata?.annotations, [SECRET_ANNOTATIONS.rotateAt]: "soon" } } };
    expect(assessPullSecret(badTime, sa, registry, before)).toEqual({ renew: "malformed" });
  });
});
