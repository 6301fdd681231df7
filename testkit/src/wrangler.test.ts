import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "node:net";
import { applyD1Migrations, dotenvText, startWrangler, type WranglerWorker } from "./wrangler.ts";
import { GO_PLAIN_HTTP_TLS_ANSWER } from "./tls-refusing-front.ts";
import { makeTempDir, removeDir } from "./temp-dir.ts";

const config = fileURLToPath(new URL("./fixtures/echo-worker/wrangler.toml", import.meta.url));
const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUa+b/c=\nAAAA\n-----END CERTIFICATE-----\n";

describe("dotenvText", () => {
  it("writes double-quoted values, newlines kept", () => {
    expect(dotenvText({ A: "x y", B: "l1\nl2" })).toBe('A="x y"\nB="l1\nl2"\n');
  });
  it("refuses names and values it cannot carry verbatim", () => {
    expect(() => dotenvText({ "BAD-NAME": "x" })).toThrow(/invalid setting name/);
    expect(() => dotenvText({ A: 'has "quote"' })).toThrow(/quotes/);
    expect(() => dotenvText({ A: "back\\slash" })).toThrow(/backslashes/);
  });
});

describe("startWrangler", () => {
  let persistTo: string;
  let worker: WranglerWorker;

  beforeAll(async () => {
    persistTo = makeTempDir("wrangler-test-state");
    await applyD1Migrations({ config, persistTo, binding: "DB" });
    worker = await startWrangler({ config, persistTo, vars: { SIGNING_CERT: pem, OVERRIDDEN: "from vars" } });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    removeDir(persistTo);
  });

  it("passes multi-line settings intact and lets them override [vars]", async () => {
    const settings = (await (await fetch(`${worker.url}/settings`)).json()) as Record<string, string>;
    expect(settings["SIGNING_CERT"]).toBe(pem);
    expect(settings["OVERRIDDEN"]).toBe("from vars");
    expect(settings["FROM_CONFIG"]).toBe("config value");
  });

  it("runs on the migrated local D1 in the persist dir", async () => {
    expect(await (await fetch(`${worker.url}/greetings`)).json()).toEqual([{ text: "hello from a migration" }]);
  });

  // docker and skopeo probe HTTPS first; workerd alone stalls the ClientHello until their 10 s TLS timeout.
  it("answers a TLS ClientHello on its URL as Distribution does, at once", async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(worker.port, "127.0.0.1", () => socket.write(Buffer.from("16030100c8010000c40303", "hex")));
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
      socket.on("error", reject);
      setTimeout(() => socket.destroy(), 3000).unref();
    });
    expect(answer).toBe(GO_PLAIN_HTTP_TLS_ANSWER);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("stop() ends wrangler and its workerd children", async () => {
    const { url, workerdUrl, pid } = worker;
    await worker.stop();
    expect(() => process.kill(-pid, 0)).toThrow(/ESRCH/);
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await expect(fetch(`${workerdUrl}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it("a build error fails at once with wrangler's output", async () => {
    const dir = makeTempDir("wrangler-test-broken");
    try {
      writeFileSync(join(dir, "wrangler.toml"), 'name = "broken"\nmain = "index.ts"\ncompatibility_date = "2026-04-20"\n');
      writeFileSync(join(dir, "index.ts"), 'import { missing } from "./nowhere.ts";\nexport default { fetch: () => new Response(missing) };\n');
      const started = Date.now();
      await expect(startWrangler({ config: join(dir, "wrangler.toml"), persistTo, readyTimeoutMs: 50_000 })).rejects.toThrow(/wrangler reported an error[\s\S]*nowhere\.ts/);
      expect(Date.now() - started).toBeLessThan(40_000);
    } finally {
      removeDir(dir);
    }
  }, 60_000);

  // wrangler prints the error, then exits: whichever the wait sees first, the output comes with it.
  it("a failed start reports wrangler's output", async () => {
    await expect(startWrangler({ config: "does-not-exist/wrangler.toml", persistTo, readyTimeoutMs: 30_000 })).rejects.toThrow(/(process exited|wrangler reported an error)[\s\S]*--- logs ---[\s\S]*does-not-exist/);
  }, 60_000);
});
