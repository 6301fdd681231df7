/**
 * UPSTREAM_AUTH: how the proxy gets its upstream credential. `none`, `basic`
 * and `bearer` are the learnt-scheme path (upstream-auth.ts, with
 * UPSTREAM_USERNAME/UPSTREAM_PASSWORD); every other mode is a row of
 * {@link CLOUD_MODES}: which settings it reads, how they are parsed (a
 * SettingError names the bad one), and the {@link CredentialSource} they make.
 * A new cloud is one row here plus its module.
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import type { Env } from "../env.ts";
import type { CredentialSource } from "./credential-source.ts";
import { acrSource, parseAcrSettings } from "./acr.ts";
import { ecrSource, parseEcrSettings } from "./ecr.ts";
import { garSource, parseGarSettings } from "./gar.ts";
import { parseQuaySettings, quaySource } from "./quay.ts";
import type { FederationSettings } from "./federation.ts";

export interface CloudModeInput {
  readonly env: Env;
  readonly upstream: URL;
  /** The proxy's issuer, when FEDERATION_SIGNING_KEY is set (keyless variants need it). */
  readonly federation?: FederationSettings;
}

export interface CloudMode {
  /** Parses the mode's settings (throwing SettingError) and returns how to make its source. */
  readonly parse: (input: CloudModeInput) => () => CredentialSource;
}

export const CLOUD_MODES: Readonly<Record<string, CloudMode>> = {
  ecr: {
    parse: ({ env, upstream, federation }) => {
      const settings = parseEcrSettings(env, upstream, federation);
      return () => ecrSource(settings);
    },
  },
  gar: {
    parse: ({ env, federation }) => {
      const settings = parseGarSettings(env, federation);
      return () => garSource(settings);
    },
  },
  acr: {
    parse: ({ env, upstream, federation }) => {
      const settings = parseAcrSettings(env, upstream, federation);
      return () => acrSource(settings);
    },
  },
  quay: {
    parse: ({ env, upstream, federation }) => {
      const settings = parseQuaySettings(env, upstream, federation);
      return () => quaySource(settings);
    },
  },
};

export const LEARNT_MODES = ["none", "basic", "bearer"] as const;

export type UpstreamAuthSetting =
  /** The learnt scheme (upstream-auth.ts). `auto`: UPSTREAM_AUTH unset, as before the setting existed. */
  | { readonly kind: "learnt"; readonly mode: (typeof LEARNT_MODES)[number] | "auto" }
  | { readonly kind: "minted"; readonly mode: string; readonly create: () => CredentialSource };

export function parseUpstreamAuth(input: CloudModeInput, hasCredentials: boolean): UpstreamAuthSetting {
  const raw = (input.env.UPSTREAM_AUTH ?? "").trim();
  if (raw === "") return { kind: "learnt", mode: "auto" };
  if ((LEARNT_MODES as readonly string[]).includes(raw)) {
    const mode = raw as (typeof LEARNT_MODES)[number];
    if (mode === "none" && hasCredentials) throw new SettingError("UPSTREAM_AUTH", "UPSTREAM_AUTH is none but UPSTREAM_USERNAME/UPSTREAM_PASSWORD are set");
    if (mode !== "none" && !hasCredentials) throw new SettingError("UPSTREAM_USERNAME", `UPSTREAM_AUTH ${mode} needs UPSTREAM_USERNAME and UPSTREAM_PASSWORD`);
    return { kind: "learnt", mode };
  }
  const cloud = Object.hasOwn(CLOUD_MODES, raw) ? CLOUD_MODES[raw] : undefined;
  if (!cloud) throw new SettingError("UPSTREAM_AUTH", `UPSTREAM_AUTH must be one of ${[...LEARNT_MODES, ...Object.keys(CLOUD_MODES)].join(", ")}`);
  if (hasCredentials) throw new SettingError("UPSTREAM_USERNAME", `UPSTREAM_AUTH ${raw} mints its own credential: unset UPSTREAM_USERNAME and UPSTREAM_PASSWORD`);
  return { kind: "minted", mode: raw, create: cloud.parse(input) };
}
