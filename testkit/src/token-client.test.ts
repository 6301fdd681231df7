import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchWithRegistryAuth, grantedAccess, refreshToken, requestToken } from "./token-client.ts";

/** A fake registry + token endpoint on one server: just enough protocol to drive the client. */
let server: Server;
let base: string;
const seen: { url: string; authorization?: string; body?: string }[] = [];
const fakeToken = (access: unknown[]): string => `e30.${Buffer.from(JSON.stringify({ access })).toString("base64url")}.sig`;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }), ...(body !== "" && { body }) });
      const url = new URL(req.url ?? "/", base);
      if (url.pathname === "/token") {
        if (req.headers.authorization !== "Basic dTpw" && req.method === "GET") return res.writeHead(401).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }));
        return res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token: fakeToken([{ type: "registry", name: "catalog", actions: ["*"] }]) }));
      }
      if (req.headers.authorization?.startsWith("Bearer ")) return res.writeHead(200).end(JSON.stringify({ repositories: ["a/b"] }));
      return res.writeHead(401, { "WWW-Authenticate": `Bearer realm="${base}/token",service="svc",scope="registry:catalog:*"` }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("fetchWithRegistryAuth", () => {
  it("answers the challenge with a token for its scope and retries", async () => {
    seen.length = 0;
    const result = await fetchWithRegistryAuth(`${base}/v2/_catalog`, { username: "u", password: "p" });
    expect(result.response.status).toBe(200);
    expect(result.challenge).toEqual({ realm: `${base}/token`, service: "svc", scope: "registry:catalog:*" });
    expect(seen[1]?.url).toBe("/token?account=u&scope=registry%3Acatalog%3A*&service=svc");
    expect(seen[2]?.authorization).toMatch(/^Bearer e30\./);
    expect(grantedAccess(String(result.token?.body["token"]))).toEqual([{ type: "registry", name: "catalog", actions: ["*"] }]);
  });

  it("stops at a refused token request, passing its status on", async () => {
    const result = await fetchWithRegistryAuth(`${base}/v2/_catalog`, { username: "u", password: "wrong" });
    expect(result.token?.status).toBe(401);
    expect(result.response.status).toBe(401);
  });
});

describe("requestToken / refreshToken", () => {
  it("sends docker login's query and the OAuth2 refresh form", async () => {
    seen.length = 0;
    await requestToken(`${base}/token`, { service: "svc", credential: { username: "u", password: "p" }, params: { client_id: "docker", offline_token: "true" } });
    expect(seen[0]?.url).toBe("/token?account=u&client_id=docker&offline_token=true&service=svc");
    await refreshToken(`${base}/token`, { service: "svc", refreshToken: "r1", scopes: ["repository:a/b:pull"] });
    expect(new URLSearchParams(seen[1]?.body)).toEqual(new URLSearchParams("grant_type=refresh_token&refresh_token=r1&service=svc&client_id=registry-client&scope=repository%3Aa%2Fb%3Apull"));
  });
});
