import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.ts";

describe("Metrics", () => {
  it("renders counters, gauges and computed gauges in the text format", () => {
    const metrics = new Metrics();
    metrics.inc("jwt_registry_auth_reconciles_total", { result: "success" });
    metrics.inc("jwt_registry_auth_reconciles_total", { result: "success" });
    metrics.inc("jwt_registry_auth_tokens_issued_total", { registry: 'r"1' });
    metrics.set("jwt_registry_auth_leader", 1);
    const next: { seconds?: number } = {};
    metrics.gaugeFunction("jwt_registry_auth_next_rotation_seconds", "Seconds until the next rotation.", () => next.seconds);
    const first = metrics.render();
    expect(first).toContain("# TYPE jwt_registry_auth_reconciles_total counter\njwt_registry_auth_reconciles_total{result=\"success\"} 2\n");
    expect(first).toContain('jwt_registry_auth_tokens_issued_total{registry="r\\"1"} 1');
    expect(first).toContain("jwt_registry_auth_leader 1");
    expect(first).toContain("# TYPE jwt_registry_auth_next_rotation_seconds gauge\n");
    expect(first).not.toMatch(/^jwt_registry_auth_next_rotation_seconds /m);
    next.seconds = 42.5;
    expect(metrics.render()).toContain("jwt_registry_auth_next_rotation_seconds 42.5\n");
    expect(metrics.get("jwt_registry_auth_reconciles_total", { result: "success" })).toBe(2);
  });

  it("refuses unknown metric names", () => {
    expect(() => new Metrics().inc("nope")).toThrow(/unknown metric/);
  });
});
