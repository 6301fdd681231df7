/** The quay source inside workerd, against answers shaped as Quay's API reference documents them. */
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { cloudContext, failure, refusedSetting, hang, jwtWithExp, NOW, type Answer, type SeenRequest } from "./cloud-test-context.ts";
import { parseQuaySettings, QUAY_FALLBACK_SECONDS, quaySource } from "./quay.ts";

const UPSTREAM = new URL("https://quay.io");
const ROBOT = "acme+proxy";
const FEDERATION = "quay.io/oauth2/federation/robot/token";

function source(env: Env = { QUAY_ROBOT: ROBOT }) {
  return quaySource(parseQuaySettings(env, UPSTREAM, { subject: "proxy-prod" }));
}

function settingError(env: Env, withFederation = true): string {
  return refusedSetting(() => parseQuaySettings(env, UPSTREAM, withFederation ? { subject: "proxy-prod" } : undefined));
}

describe("quay", () => {
  it("settings name QUAY_ROBOT or the missing federation issuer", () => {
    expect(settingError({})).toBe("QUAY_ROBOT");
    expect(settingError({ QUAY_ROBOT: "proxy" })).toBe("QUAY_ROBOT");
    expect(settingError({ QUAY_ROBOT: ROBOT })).toBe("valid");
    expect(settingError({ QUAY_ROBOT: ROBOT }, false)).toBe("FEDERATION_SIGNING_KEY");
  });

  it("sends Basic <robot>:<federation JWT> for the registry's host and uses the robot token as the robot's password until its exp", async () => {
    const seen: SeenRequest[] = [];
    const token = jwtWithExp(NOW + 3600_000);
    const minted = await source().mint(cloudContext({ [FEDERATION]: () => Response.json({ token }) }, seen), []);
    expect(minted).toEqual({ authorization: `Basic ${btoa(`${ROBOT}:${token}`)}`, expiresAt: NOW + 3600_000 });
    expect(seen[0]?.method).toBe("GET");
    expect(seen[0]?.headers.get("Authorization")).toBe(`Basic ${btoa(`${ROBOT}:federation-jwt-for:quay.io`)}`);
  });

  it("QUAY_FEDERATION_AUDIENCE sets the aud; an opaque token is renewed after the fallback lifetime", async () => {
    const seen: SeenRequest[] = [];
    const minted = await source({ QUAY_ROBOT: ROBOT, QUAY_FEDERATION_AUDIENCE: "quay-federation" }).mint(cloudContext({ [FEDERATION]: () => Response.json({ token: "opaque" }) }, seen), []);
    expect(seen[0]?.headers.get("Authorization")).toBe(`Basic ${btoa(`${ROBOT}:federation-jwt-for:quay-federation`)}`);
    expect(minted.expiresAt).toBe(NOW + QUAY_FALLBACK_SECONDS * 1000);
  });

  it("maps refusals to 502/503/504 naming the step", async () => {
    const mint = (answer?: Answer) => source().mint(cloudContext(answer ? { [FEDERATION]: answer } : {}, []), []);
    expect(await failure(mint(() => Response.json({ error: "unauthorized" }, { status: 401 })))).toEqual({ status: 502, message: "Quay robot federation refused: unauthorized" });
    expect(await failure(mint(() => new Response("down", { status: 503 })))).toEqual({ status: 503, message: "Quay robot federation refused: HTTP 503" });
    expect(await failure(mint())).toEqual({ status: 502, message: "Quay robot federation could not be reached" });
    expect(await failure(mint(hang))).toEqual({ status: 504, message: "Quay robot federation did not answer in time" });
    expect(await failure(mint(() => Response.json({})))).toEqual({ status: 502, message: "Quay robot federation answered without a token" });
  });
});
