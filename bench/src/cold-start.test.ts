import { describe, expect, it } from "vitest";
import { coldPartOf, packageOf } from "./cold-start.ts";

describe("coldPartOf", () => {
  it("names native frames by function: GC, JSON, crypto, logging", () => {
    expect(coldPartOf(undefined, "(garbage collector)")).toBe("GC");
    expect(coldPartOf("", "parse")).toBe("JSON");
    expect(coldPartOf(undefined, "importKey")).toBe("crypto (native)");
    expect(coldPartOf(undefined, "log")).toBe("logging");
    expect(coldPartOf(undefined, "somethingElse")).toBe("other (native)");
  });
  it("names bundled frames by their original source", () => {
    expect(coldPartOf("../../node_modules/@bufbuild/cel/dist/esm/parser.js", "parse")).toBe("CEL plan/compile/eval, policy");
    expect(coldPartOf("../../core/src/policy/plan.ts", "plan")).toBe("CEL plan/compile/eval, policy");
    expect(coldPartOf("../../worker/src/settings.ts", "load")).toBe("settings and key import");
    expect(coldPartOf("../../node_modules/jose/dist/webapi/jws.js", "verify")).toBe("crypto (JWT verify/sign JS)");
    expect(coldPartOf("../../worker/src/log.ts", "logLine")).toBe("logging");
    expect(coldPartOf("cloudflare-internal:d1-api", "_updateBookmark")).toBe("D1 binding (workerd's own JS)");
    expect(coldPartOf("../../worker/src/token/handler.ts", "handle")).toBe("other: worker/src/token");
  });
});

describe("packageOf", () => {
  it("groups by npm package or by workspace source directory", () => {
    expect(packageOf("../node_modules/@scope/pkg/x.js")).toBe("@scope/pkg");
    expect(packageOf("../node_modules/zod/v4/a.js")).toBe("zod");
    expect(packageOf("../../worker/src/index.ts")).toBe("worker/src/index");
  });
});
