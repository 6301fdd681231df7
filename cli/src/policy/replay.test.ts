import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TOKEN_REQUEST_EVENT, type TokenRequestLine, type TokenRequestLog } from "@jwt-registry-auth/core/policy/token-request-log";
import { captureIo } from "../testing.ts";
import { policyCommand } from "./command.ts";
import { EXIT_CHANGED, parseLog } from "./replay.ts";

const dir = mkdtempSync(join(tmpdir(), "jra-policy-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVICE = "registry.example.com";
const AUTHN = 'claims.repository_owner_id == "1234567"';
const AUTHZ = 'scope.name.startsWith("example-org/") && (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/heads/main"))';

interface Provider {
  readonly name: string;
  readonly authn?: string;
  readonly authz?: string;
}

function policyFile(name: string, providers: readonly Provider[]): string {
  const yaml = [
    "providers:",
    ...providers.flatMap((p) => [
      `  - name: ${p.name}`,
      `    issuer: https://${p.name}.example.com`,
      "    audiences: [registry.example.com]",
      ...(p.authn === undefined ? [] : ["    authn:", `      condition: ${JSON.stringify(p.authn)}`]),
      ...(p.authz === undefined ? [] : ["    authz:", `      condition: ${JSON.stringify(p.authz)}`]),
    ]),
  ].join("\n");
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `${yaml}\n`);
  return path;
}

const gha = (authz = AUTHZ, authn = AUTHN): Provider => ({ name: "gha", authn, authz });
const retired: Provider = { name: "retired" };
const CLAIMS_READ = ["ref", "repository_owner_id"];

/** A line exactly as worker/src/log.ts prints it. */
function line(entry: TokenRequestLog): string {
  const printed: TokenRequestLine = { event: TOKEN_REQUEST_EVENT, time: "2026-12-01T10:00:00.000Z", ...entry };
  return JSON.stringify(printed);
}

const granted = line({
  requestId: "req-push",
  status: 200,
  grant: "password",
  provider: "gha",
  subject: "repo:example-org/app:ref:refs/heads/main",
  service: SERVICE,
  requested: ["repository:example-org/app:pull,push", "repository:other/app:pull"],
  authn: "allowed",
  claimsRead: CLAIMS_READ,
  claims: { ref: "refs/heads/main", repository_owner_id: "1234567" },
  granted: ["repository:example-org/app:pull", "repository:example-org/app:push"],
  refused: ["repository:other/app:pull"],
  reason: 'repository:other/app:pull: authz: false at 1:1: scope.name.startsWith("example-org/")',
  tokenSha256: "a".repeat(64),
});
const authnRefused = line({
  requestId: "req-stranger",
  status: 403,
  grant: "password",
  provider: "gha",
  subject: "repo:stranger/app:ref:refs/heads/main",
  service: SERVICE,
  requested: ["repository:example-org/app:pull"],
  authn: "refused",
  claimsRead: CLAIMS_READ,
  claims: { ref: "refs/heads/main", repository_owner_id: "999" },
  reason: 'authn: false at 1:1: claims.repository_owner_id == "1234567"',
});
const retiredLine = line({
  requestId: "req-retired",
  status: 200,
  grant: "password",
  provider: "retired",
  subject: "system:serviceaccount:ci:builder",
  service: SERVICE,
  requested: ["repository:example-org/app:pull"],
  authn: "allowed",
  claimsRead: [],
  claims: {},
  granted: ["repository:example-org/app:pull"],
  refused: [],
});
/** Failed before any policy ran: nothing to replay. */
const identityFailure = line({ requestId: "req-bad-jwt", status: 401, grant: "password", provider: "gha", service: SERVICE, requested: ["repository:example-org/app:pull"], reason: "identity:malformed: not a JWT" });
const otherEvent = JSON.stringify({ event: "not_production_ready", warnings: ["ALLOWED_SERVICES is empty"] });

function logFile(name: string, lines: readonly string[]): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

// Rate limited after its claims were recorded: decided by the limit, not a policy, so skipped.
const rateLimited = line({ ...(JSON.parse(authnRefused) as TokenRequestLog), requestId: "req-limited", status: 429, reason: "rate_limited" });
const baseLog = logFile("base", [granted, authnRefused, retiredLine, identityFailure, rateLimited, otherEvent]);

async function replay(file: string, log: string) {
  const io = captureIo();
  const code = await policyCommand(["replay", file, "--log", log], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("policy replay", () => {
  it("exits 0 when nothing would change, and counts what it skipped", async () => {
    const { code, out, err } = await replay(policyFile("same", [gha(), retired]), baseLog);
    expect(err).toBe("");
    expect(out).toBe("3 request(s), 0 changed, 0 not replayable (2 token_request line(s) not decided by a policy, skipped)");
    expect(code).toBe(0);
  });

  it("a tightened authz exits 3 and lists the scope, old → new, with the new explanation", async () => {
    const tightened = 'scope.name.startsWith("example-org/") && (scope.action == "pull" || (scope.action == "push" && claims.ref == "refs/tags/v1"))';
    const { code, out } = await replay(policyFile("tightened", [gha(tightened), retired]), baseLog);
    expect(code).toBe(EXIT_CHANGED);
    expect(out).toContain("CHANGED line 1: request req-push 2026-12-01T10:00:00.000Z: provider gha, subject repo:example-org/app:ref:refs/heads/main, service registry.example.com");
    expect(out).toContain('  repository:example-org/app:push  granted → refused  (authz: false at 1:43: scope.action == "pull"; false at 1:96: claims.ref == "refs/tags/v1")');
    expect(out).not.toContain("repository:example-org/app:pull  granted");
    expect(out).not.toContain("req-stranger");
    expect(out).toMatch(/3 request\(s\), 1 changed, 0 not replayable/);
  });

  it("a loosened authn lists the authn change and the scopes it now grants", async () => {
    const { code, out } = await replay(policyFile("loosened", [gha(AUTHZ, 'claims.repository_owner_id in ["1234567", "999"]'), retired]), baseLog);
    expect(code).toBe(3);
    expect(out).toContain("CHANGED line 2: request req-stranger");
    expect(out).toContain("  authn  refused → allowed  (authn condition is true)");
    expect(out).toContain("  repository:example-org/app:pull  refused → granted  (authz condition is true)");
  });

  it("a removed provider is a change: provider removed", async () => {
    const { code, out } = await replay(policyFile("removed", [gha()]), baseLog);
    expect(code).toBe(3);
    expect(out).toContain("CHANGED line 3: request req-retired 2026-12-01T10:00:00.000Z: provider retired, subject system:serviceaccount:ci:builder");
    expect(out).toContain("  provider removed");
    expect(out).toMatch(/3 request\(s\), 1 changed, 0 not replayable/);
  });

  it("a new condition reading a claim the line did not record: cannot replay, never a guess", async () => {
    const needsEnvironment = `${AUTHZ} && claims.environment == "prod"`;
    const { code, out } = await replay(policyFile("environment", [gha(needsEnvironment), retired]), baseLog);
    expect(code).toBe(0);
    expect(out).toContain("SKIPPED line 1: request req-push");
    expect(out).toContain("  cannot replay: claim environment not recorded");
    expect(out).toMatch(/3 request\(s\), 0 changed, 2 not replayable/);
  });

  it("a line logged for a provider reading claims as a whole is not replayable, and says why", async () => {
    const unrecorded = line({ requestId: "req-whole", status: 200, grant: "password", provider: "gha", subject: "s", service: SERVICE, requested: [], authn: "allowed", claimsUnrecorded: "authz.condition 1:1 reads claims as a whole (not a fixed claim name)", granted: [], refused: [] });
    const { code, out } = await replay(policyFile("whole", [gha(), retired]), logFile("whole", [unrecorded]));
    expect(code).toBe(0);
    expect(out).toContain("cannot replay: claims ref, repository_owner_id not recorded (no claims were logged: authz.condition 1:1 reads claims as a whole");
  });

  it("a malformed line is a warning with its line number, and the rest is replayed", async () => {
    const log = logFile("malformed", [granted, '{"event":"token_request", "requestId": ', line({ requestId: "x", status: 200, grant: "password", provider: "gha", claimsRead: "ref" as unknown as string[] })]);
    const { code, out, err } = await replay(policyFile("same2", [gha(), retired]), log);
    expect(code).toBe(0);
    expect(err).toContain("line 2: not JSON");
    expect(err).toContain("line 3: a token_request line, but claimsRead is not a list of strings");
    expect(out).toBe("1 request(s), 0 changed, 0 not replayable (2 malformed line(s))");
  });

  it("reads wrangler tail --format json: the line inside logs[].message[], one per line or pretty-printed", async () => {
    const tail = (message: string) => ({ outcome: "ok", scriptName: "jwt-registry-auth", exceptions: [], logs: [{ message: [message], level: "log", timestamp: 1764583200000 }], eventTimestamp: 1764583200000 });
    const log = logFile("tail", [JSON.stringify(tail(granted)), JSON.stringify(tail(authnRefused), null, 2), JSON.stringify({ ...tail(otherEvent), logs: [] })]);
    const tightened = 'scope.name.startsWith("example-org/") && scope.action == "pull"';
    const { code, out, err } = await replay(policyFile("tail", [gha(tightened), retired]), log);
    expect(err).toBe("");
    expect(code).toBe(3);
    expect(out).toContain("CHANGED line 1: request req-push");
    expect(out).toContain("repository:example-org/app:push  granted → refused");
    expect(out).toMatch(/2 request\(s\), 1 changed, 0 not replayable$/);
    expect(parseLog(JSON.stringify(tail(granted), null, 2)).requests[0]?.line).toBe(1);
  });

  it("a policy file with errors prints file:line and replays nothing (exit 1); --log is required (exit 2)", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "providers:\n  - name: gha\n    issuer: https://gha.example.com\n    audiences: [registry.example.com]\n    authz:\n      condition: 'scope.name ==='\n");
    const { code, out, err } = await replay(bad, baseLog);
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: error:`));
    expect(out).toBe("");
    const io = captureIo();
    expect(await policyCommand(["replay", bad], io)).toBe(2);
  });
});
