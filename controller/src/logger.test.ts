import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { tokenSha256 } from "./token-digest.ts";

const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLWJ5dGVz";

describe("createLogger", () => {
  it("writes one JSON object per line at or above its level", () => {
    const lines: string[] = [];
    const log = createLogger("info", (l) => lines.push(l));
    log.debug("hidden");
    log.info("reconciled", { serviceAccount: "team-a/app", n: 1 });
    log.error("failed", { error: Object.assign(new Error("boom"), { code: 409 }) });
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: "info", msg: "reconciled", serviceAccount: "team-a/app", n: 1 });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: "error", error: { message: "boom", code: 409 } });
  });

  it("replaces anything that looks like a JWT by its hash, wherever it hides", () => {
    const lines: string[] = [];
    const log = createLogger("debug", (l) => lines.push(l));
    log.warn(`token ${jwt} refused`, { nested: { list: [jwt] }, error: new Error(`bad ${jwt}`) });
    expect(lines[0]).not.toContain(jwt);
    expect(lines[0]).toContain(tokenSha256(jwt));
  });
});
