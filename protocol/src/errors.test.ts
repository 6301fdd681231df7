import { expect, it } from "vitest";
import { errorResponse } from "./errors.ts";

it("builds a Distribution error body that is never cached", async () => {
  const res = errorResponse(401, "UNAUTHORIZED", "authentication required", { headers: { "WWW-Authenticate": 'Bearer realm="x"' }, detail: { reason: "expired" } });
  expect(res.status).toBe(401);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="x"');
  expect(await res.json()).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: { reason: "expired" } }] });
});
