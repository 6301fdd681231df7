import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./config.ts";

const parse = (...argv: string[]) => parseConfig(argv, { POD_NAMESPACE: "registry-auth", HOSTNAME: "pod-1" });

describe("parseConfig", () => {
  it("applies defaults", () => {
    const config = parse("--registry", "registry.example.com");
    expect(config.registries).toEqual([{ host: "registry.example.com", provider: "kubernetes", audience: "https://registry.example.com", durationSeconds: 3600 }]);
    expect(config.namespaces).toEqual({ kind: "all" });
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(config.resyncMs).toBe(600_000);
    expect(config.workers).toBe(4);
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: "registry-auth", name: "jwt-registry-auth-controller", leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(config.leaderElection.identity).toMatch(/^pod-1_[0-9a-f]{8}$/);
  });

  it("serves several registries with per-registry options", () => {
    const config = parse("--provider", "cluster-a", "--token-duration", "2h", "--registry", "Reg.Example:5000,audience=reg-aud,duration=30m", "--registry", "other.example,provider=k8s");
    expect(config.registries).toEqual([
      { host: "reg.example:5000", provider: "cluster-a", audience: "reg-aud", durationSeconds: 1800 },
      { host: "other.example", provider: "k8s", audience: "https://other.example", durationSeconds: 7200 },
    ]);
  });

  it("reads namespace scopes", () => {
    expect(parse("--registry", "r.example", "--namespaces", "team-a, team-b,team-a").namespaces).toEqual({ kind: "list", names: ["team-a", "team-b"] });
    expect(parse("--registry", "r.example", "--namespace-selector", "registry-auth=enabled").namespaces).toEqual({ kind: "selector", selector: "registry-auth=enabled" });
  });

  it.each([
    [[], /at least one registry/],
    [["--registry", "https://r.example"], /not a registry host/],
    [["--registry", "r.example,colour=blue"], /unknown option "colour"/],
    [["--registry", "r.example,provider="], /needs a value/],
    [["--registry", "r.example", "--registry", "R.example"], /given twice/],
    [["--registry", "r.example,duration=5m"], /shorter than the 10m TokenRequest minimum/],
    [["--registry", "r.example", "--token-duration", "soon"], /invalid duration/],
    [["--registry", "r.example", "--namespaces", "Team_A"], /not a namespace name/],
    [["--registry", "r.example", "--namespaces", "a", "--namespace-selector", "x=y"], /exclusive/],
    [["--registry", "r.example", "--workers", "0"], /--workers/],
    [["--registry", "r.example", "--listen", "8080"], /--listen/],
    [["--registry", "r.example", "--leader-elect", "yes"], /--leader-elect/],
    [["--registry", "r.example", "--renew-deadline", "20s"], /retry-period < renew-deadline < lease-duration/],
    [["--registry", "r.example", "--log-level", "loud"], /--log-level/],
    [["--registry", "r.example", "--frobnicate"], /Unknown option '--frobnicate'/],
    [["--registry", "r.example", "extra"], /positional/],
  ])("rejects %j", (argv, message) => {
    expect(() => parse(...argv)).toThrow(ConfigError);
    expect(() => parse(...argv)).toThrow(message);
  });
});
