/**
 * `quay` mode: Basic `<org>+<robot>:<token>` for Quay (quay.io or Red Hat Quay
 * ≥ 3.13) with robot-account identity federation.
 *
 * `GET <quay>/oauth2/federation/robot/token` with Basic `<robot>:<federation
 * JWT>`: Quay checks the JWT against the robot's federation configuration
 * (issuer and subject, keys from the issuer's discovery document) and answers
 * `{"token": …}`, a short-lived robot token used as the robot's password on
 * the registry API. Its lifetime is the token's `exp` when it is a JWT, else
 * {@link QUAY_FALLBACK_SECONDS}.
 */
import { SettingError } from "@jwt-registry-auth/protocol";
import type { Env } from "../env.ts";
import { UpstreamError } from "../upstream-auth.ts";
import { errorCode, jsonObject, jwtExpiresAt, stringMember } from "./answers.ts";
import type { CredentialSource } from "./credential-source.ts";
import { refused, stepFetch } from "./step-fetch.ts";

export const QUAY_SETTING_NAMES = ["QUAY_ROBOT", "QUAY_FEDERATION_AUDIENCE"] as const satisfies readonly (keyof Env)[];
export const QUAY_STEP = "Quay robot federation";
/** A token whose lifetime the proxy cannot read is renewed this often (s). */
export const QUAY_FALLBACK_SECONDS = 300;

/** Quay's robot name: `<namespace>+<shortname>` (namespace an org or user). */
const ROBOT = /^[a-z0-9][a-z0-9._-]{1,254}\+[a-z][a-z0-9_]{1,254}$/;

export interface QuaySettings {
  readonly registry: URL;
  readonly robot: string;
  /** The `aud` of the federation JWT; the robot's federation config names the issuer and subject. */
  readonly audience: string;
}

export function parseQuaySettings(env: Env, upstream: URL, federation: { readonly subject: string } | undefined): QuaySettings {
  const robot = (env.QUAY_ROBOT ?? "").trim();
  if (robot === "") throw new SettingError("QUAY_ROBOT", "quay needs QUAY_ROBOT (the federated robot account, <org>+<name>)");
  if (!ROBOT.test(robot)) throw new SettingError("QUAY_ROBOT", "QUAY_ROBOT is not a robot account name (<org>+<name>, lower case)");
  if (!federation) throw new SettingError("FEDERATION_SIGNING_KEY", "quay needs the proxy's federation issuer: set FEDERATION_SIGNING_KEY, FEDERATION_SUBJECT and PUBLIC_URL");
  const audience = (env.QUAY_FEDERATION_AUDIENCE ?? "").trim() || upstream.host;
  return { registry: new URL(upstream.origin), robot, audience };
}

export function quaySource(settings: QuaySettings): CredentialSource {
  const url = new URL("/oauth2/federation/robot/token", settings.registry);
  return {
    mode: "quay",
    perScope: false,
    async mint(ctx) {
      const started = ctx.now();
      const jwt = await ctx.federationToken(settings.audience);
      const answer = await stepFetch(ctx, QUAY_STEP, url, {
        method: "GET",
        headers: { Authorization: `Basic ${btoa(`${settings.robot}:${jwt}`)}`, Accept: "application/json" },
      });
      const json = jsonObject(answer.text);
      if (answer.status !== 200) throw refused(QUAY_STEP, answer.status, errorCode(json));
      const token = stringMember(json, "token");
      if (token === undefined) throw new UpstreamError(502, `${QUAY_STEP} answered without a token`);
      const expiresAt = jwtExpiresAt(token) ?? started + QUAY_FALLBACK_SECONDS * 1000;
      return { authorization: `Basic ${btoa(`${settings.robot}:${token}`)}`, expiresAt };
    },
  };
}
