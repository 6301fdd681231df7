/** The Quay stand-in: robot federation checks, and the registry API forwarded to the origin behind it. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "../oidc-issuer.ts";
import { startQuayStandIn, type QuayFederationConfig, type QuayStandIn } from "./quay.ts";

let issuer: OidcIssuer;
let quay: QuayStandIn;
let registry: Server;
const robots: Record<string, QuayFederationConfig[]> = {};

beforeAll(async () => {
  issuer = await startOidcIssuer({ alg: "ES256" });
  registry = createServer((request, response) => response.writeHead(200, { "Content-Type": "text/plain" }).end(`registry saw ${request.method ?? ""} ${request.url ?? ""} ${request.headers.authorization ?? "-"}`));
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  quay = await startQuayStandIn({ registryUrl: `http://127.0.0.1:${(registry.address() as AddressInfo).port}`, robots, robotToken: "robot-token" });
  robots["acme+proxy"] = [{ issuer: issuer.url, subject: "proxy" }];
});
afterAll(async () => {
  await quay.close();
  await new Promise<void>((resolve) => registry.close(() => resolve()));
  await issuer.close();
});

async function federate(robot: string, jwt: string): Promise<string> {
  const response = await fetch(`${quay.url}/oauth2/federation/robot/token`, { headers: { Authorization: `Basic ${Buffer.from(`${robot}:${jwt}`).toString("base64")}` } });
  return `${response.status} ${JSON.stringify(await response.json())}`;
}

describe("Quay stand-in", () => {
  it("hands the robot token to a federation JWT from the robot's issuer and subject, for Quay's own host", async () => {
    expect(await federate("acme+proxy", await issuer.mint({ sub: "proxy", aud: quay.host }))).toBe('200 {"token":"robot-token"}');
  });

  it("refuses another subject, audience, an expired JWT and an unknown robot with 401", async () => {
    const refused = (body: string): boolean => body.startsWith('401 {"error":"unauthorized"');
    expect(refused(await federate("acme+proxy", await issuer.mint({ sub: "other", aud: quay.host })))).toBe(true);
    expect(refused(await federate("acme+proxy", await issuer.mint({ sub: "proxy", aud: "quay.io" })))).toBe(true);
    expect(refused(await federate("acme+proxy", await issuer.mint({ sub: "proxy", aud: quay.host }, { expiresIn: -60 })))).toBe(true);
    expect(refused(await federate("acme+other", await issuer.mint({ sub: "proxy", aud: quay.host })))).toBe(true);
    expect(quay.calls).toEqual(["federation:ok", "federation:unauthorized", "federation:unauthorized", "federation:unauthorized", "federation:unauthorized"]);
  });

  it("forwards everything else unchanged to the registry", async () => {
    const response = await fetch(`${quay.url}/v2/acme/app/manifests/v1?x=1`, { headers: { Authorization: "Basic abc" } });
    expect(await response.text()).toBe("registry saw GET /v2/acme/app/manifests/v1?x=1 Basic abc");
  });
});
