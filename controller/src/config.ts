/**
 * Controller flags → a typed, validated config. Every mistake is reported as
 * one ConfigError naming the flag, before anything touches the cluster.
 */
import { parseArgs } from "node:util";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { parseDuration } from "./duration.ts";

export class ConfigError extends Error {}

export interface RegistryConfig {
  /** Registry host (and port) as in image references and `auths` keys. */
  readonly host: string;
  /** The token server provider name: the docker config username. */
  readonly provider: string;
  readonly audience: string;
  /** Requested token lifetime (TokenRequest `expirationSeconds`). */
  readonly durationSeconds: number;
}

export type NamespaceScope = { readonly kind: "all" } | { readonly kind: "list"; readonly names: readonly string[] } | { readonly kind: "selector"; readonly selector: string };

export interface LeaderElectionConfig {
  readonly enabled: boolean;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export interface ControllerConfig {
  readonly registries: readonly RegistryConfig[];
  readonly namespaces: NamespaceScope;
  readonly kubeconfig?: string;
  readonly resyncMs: number;
  readonly workers: number;
  readonly listen: { readonly host: string; readonly port: number };
  readonly leaderElection: LeaderElectionConfig;
  readonly logLevel: LogLevel;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** TokenRequest refuses less than 10 minutes. */
const MIN_TOKEN_SECONDS = 600;
const HOST = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:\d{1,5})?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const USAGE = `Usage: jwt-registry-auth-controller --registry HOST[,provider=NAME][,audience=AUD][,duration=DUR] [flags]

Writes a registry pull Secret holding a service-account token for every
ServiceAccount that opts in (annotation jwt-registry-auth.io/registries on the
ServiceAccount or its namespace), and keeps it fresh.

  --registry SPEC           a registry to serve (repeatable): its host, and optionally the
                            token server provider (username), audience (default https://HOST)
                            and token duration
  --provider NAME           default provider for --registry entries (default "kubernetes")
  --token-duration DUR      default token duration (default 1h, at least 10m)
  --namespaces all|A,B      namespaces to watch (default all)
  --namespace-selector SEL  only namespaces with these labels (e.g. registry-auth=enabled)
  --kubeconfig PATH         kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --resync DUR              re-check every ServiceAccount this often (default 10m)
  --workers N               concurrent reconciles (default 4)
  --listen HOST:PORT        health and metrics endpoint (default 0.0.0.0:8080)
  --leader-elect BOOL       take a Lease before writing (default true)
  --lease-namespace NS      (default $POD_NAMESPACE or "default")
  --lease-name NAME         (default jwt-registry-auth-controller)
  --lease-duration DUR      (default 15s)   --renew-deadline DUR (default 10s)   --retry-period DUR (default 2s)
  --identity ID             leader-election identity (default hostname + random suffix)
  --log-level LEVEL         debug, info, warn or error (default info)
`;

function duration(flag: string, value: string | undefined, fallback: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined || ms <= 0) throw new ConfigError(`--${flag}: invalid duration ${JSON.stringify(value)}`);
  return ms;
}

function tokenSeconds(flag: string, value: string): number {
  const ms = duration(flag, value, value);
  if (ms < MIN_TOKEN_SECONDS * 1000) throw new ConfigError(`--${flag}: ${value} is shorter than the 10m TokenRequest minimum`);
  return Math.floor(ms / 1000);
}

export function parseRegistry(spec: string, defaults: { provider: string; durationSeconds: number }): RegistryConfig {
  const [rawHost, ...options] = spec.split(",").map((p) => p.trim());
  const host = (rawHost ?? "").toLowerCase();
  if (!HOST.test(host)) throw new ConfigError(`--registry: ${JSON.stringify(rawHost)} is not a registry host[:port]`);
  let provider = defaults.provider;
  let audience = `https://${host}`;
  let durationSeconds = defaults.durationSeconds;
  for (const option of options) {
    const eq = option.indexOf("=");
    const key = eq > 0 ? option.slice(0, eq) : option;
    const value = eq > 0 ? option.slice(eq + 1) : "";
    if (value === "") throw new ConfigError(`--registry ${host}: option ${JSON.stringify(option)} needs a value`);
    switch (key) {
      case "provider":
        provider = value;
        break;
      case "audience":
        audience = value;
        break;
      case "duration":
        durationSeconds = tokenSeconds(`registry ${host} duration`, value);
        break;
      default:
        throw new ConfigError(`--registry ${host}: unknown option ${JSON.stringify(key)} (provider, audience, duration)`);
    }
  }
  return { host, provider, audience, durationSeconds };
}

function namespaces(list: string | undefined, selector: string | undefined): NamespaceScope {
  if (list !== undefined && list !== "all" && selector !== undefined) throw new ConfigError("--namespaces and --namespace-selector are exclusive");
  if (selector !== undefined) {
    if (selector.trim() === "") throw new ConfigError("--namespace-selector: empty selector");
    return { kind: "selector", selector };
  }
  if (list === undefined || list === "all") return { kind: "all" };
  const names = list.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const bad = names.find((n) => !NAMESPACE.test(n));
  if (names.length === 0 || bad !== undefined) throw new ConfigError(`--namespaces: ${JSON.stringify(bad ?? list)} is not a namespace name`);
  return { kind: "list", names: [...new Set(names)] };
}

function listen(value: string): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new ConfigError(`--listen: ${JSON.stringify(value)} is not HOST:PORT`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}

function bool(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ControllerConfig {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        registry: { type: "string", multiple: true },
        provider: { type: "string" },
        "token-duration": { type: "string" },
        namespaces: { type: "string" },
        "namespace-selector": { type: "string" },
        kubeconfig: { type: "string" },
        resync: { type: "string" },
        workers: { type: "string" },
        listen: { type: "string" },
        "leader-elect": { type: "string" },
        "lease-namespace": { type: "string" },
        "lease-name": { type: "string" },
        "lease-duration": { type: "string" },
        "renew-deadline": { type: "string" },
        "retry-period": { type: "string" },
        identity: { type: "string" },
        "log-level": { type: "string" },
      },
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const str = (key: string): string | undefined => values[key] as string | undefined;
  const provider = str("provider") ?? "kubernetes";
  const durationSeconds = tokenSeconds("token-duration", str("token-duration") ?? "1h");
  const specs = (values["registry"] as string[] | undefined) ?? [];
  if (specs.length === 0) throw new ConfigError("--registry: at least one registry is required");
  const registries = specs.map((s) => parseRegistry(s, { provider, durationSeconds }));
  const duplicate = registries.find((r, i) => registries.findIndex((o) => o.host === r.host) !== i);
  if (duplicate) throw new ConfigError(`--registry: ${duplicate.host} is given twice`);

  const workers = Number(str("workers") ?? "4");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new ConfigError(`--workers: expected 1-64, got ${JSON.stringify(str("workers"))}`);
  const logLevel = str("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new ConfigError(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(logLevel)}`);

  const leaseDurationMs = duration("lease-duration", str("lease-duration"), "15s");
  const renewDeadlineMs = duration("renew-deadline", str("renew-deadline"), "10s");
  const retryPeriodMs = duration("retry-period", str("retry-period"), "2s");
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) throw new ConfigError("leader election needs retry-period < renew-deadline < lease-duration");
  const kubeconfig = str("kubeconfig");

  return {
    registries,
    namespaces: namespaces(str("namespaces"), str("namespace-selector")),
    ...(kubeconfig !== undefined && { kubeconfig }),
    resyncMs: duration("resync", str("resync"), "10m"),
    workers,
    listen: listen(str("listen") ?? "0.0.0.0:8080"),
    leaderElection: {
      enabled: bool("leader-elect", str("leader-elect"), true),
      namespace: str("lease-namespace") ?? env["POD_NAMESPACE"] ?? "default",
      name: str("lease-name") ?? "jwt-registry-auth-controller",
      identity: str("identity") ?? `${env["HOSTNAME"] ?? hostname()}_${randomBytes(4).toString("hex")}`,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    logLevel: logLevel as LogLevel,
  };
}
