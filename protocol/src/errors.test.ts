import { describe, expect, it } from "vitest";
import { errorResponse, internalErrorResponse, INTERNAL_REASON, misconfiguredResponse, MISCONFIGURED_REASON } from "./errors.ts";

it("builds a Distribution error body that is never cached", async () => {
  const res = errorResponse(401, "UNAUTHORIZED", "authentication required", { headers: { "WWW-Authenticate": 'Bearer realm="x"' }, detail: { reason: "expired" } });
  expect(res.status).toBe(401);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="x"');
  expect(await res.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: { reason: "expired" } }] });
});

/** The body's structure with every string replaced by its type: what "the same shape" means across Workers. */
async function shapeOf(response: Response): Promise<unknown> {
  const strip = (value: unknown): unknown =>
    typeof value === "string" ? "string" : Array.isArray(value) ? value.map(strip) : typeof value === "object" && value !== null ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)])) : value;
  return strip(await response.json());
}

describe("misconfiguredResponse", () => {
  it("is a 500 naming the setting in detail and message, never its value", async () => {
    const res = misconfiguredResponse("token server", "TOKEN_TTL_SECONDS", { headers: { "X-Extra": "1" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("X-Extra")).toBe("1");
    expect(await res.json()).toEqual({
      errors: [{ code: "UNKNOWN", message: "token server misconfigured: setting TOKEN_TTL_SECONDS is missing or invalid (the token server's log says why)", detail: { reason: "misconfigured", setting: "TOKEN_TTL_SECONDS" } }],
    });
  });

  it("has the same shape for both Workers", async () => {
    const token = misconfiguredResponse("token server", "TOKEN_ISSUER");
    const proxy = misconfiguredResponse("registry proxy", "TOKEN_ISSUER");
    expect(proxy.status).toBe(token.status);
    expect(await shapeOf(proxy)).toEqual(await shapeOf(token));
    expect(((await misconfiguredResponse("registry proxy", "UPSTREAM_URL").json()) as { errors: { detail: unknown }[] }).errors[0]?.detail).toEqual({ reason: MISCONFIGURED_REASON, setting: "UPSTREAM_URL" });
  });
});

describe("internalErrorResponse", () => {
  it("is a 500 with a fixed message and the internal code, the same shape for both Workers", async () => {
    const token = internalErrorResponse("token server");
    const proxy = internalErrorResponse("registry proxy", { headers: { "Docker-Distribution-API-Version": "registry/2.0" } });
    expect([token.status, proxy.status]).toEqual([500, 500]);
    expect(proxy.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect(await proxy.json()).toEqual({ errors: [{ code: "UNKNOWN", message: "internal error in the registry proxy", detail: { reason: INTERNAL_REASON } }] });
    expect(await shapeOf(token)).toEqual({ errors: [{ code: "string", message: "string", detail: { reason: "string" } }] });
  });
});
