import { describe, expect, it } from "vitest";
import { measureReconcile } from "./measure-reconcile.ts";

describe("measureReconcile", () => {
  it("runs the controller process until every ServiceAccount has its Secret, and reads its memory", async () => {
    const m = await measureReconcile(20, 2, "bundle");
    expect(m.serviceAccounts).toBe(20);
    expect(m.afterSyncMs).toBeLessThanOrEqual(m.totalMs);
    // Per ServiceAccount at least: GET Secret, TokenRequest, create Secret, patch ServiceAccount.
    expect(m.apiRequests).toBeGreaterThanOrEqual(80);
    expect(m.rssMiB).toBeGreaterThan(10);
    expect(m.peakRssMiB).toBeGreaterThanOrEqual(m.rssMiB);
  }, 90_000);
});
