/**
 * The shell commands of README.md and docs/*.md, and what the docs-commands
 * test does with each: run it (in a scratch directory, against the repository's
 * code) or accept it as not runnable on a test machine, with the reason. A
 * command that matches neither list fails the test, so a new or changed command
 * in the docs is either run or consciously listed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface DocCommand {
  readonly file: string;
  readonly line: number;
  readonly command: string;
}

const SHELL_FENCES = new Set(["sh", "bash", "shell", "console"]);

/** Drops a trailing `# comment` set off by two or more spaces (the docs' style), so `#` inside quotes stays. */
function withoutComment(line: string): string {
  return line.replace(/\s{2,}#\s.*$/, "").trimEnd();
}

/**
 * Commands of the fenced shell blocks of one Markdown text: `\` and trailing
 * `|` continue a command, a heredoc is part of its command, and in a block
 * with `$ ` prompts only the prompted lines are commands (the rest is output).
 */
export function extractCommands(file: string, text: string): DocCommand[] {
  const commands: DocCommand[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i] ?? "");
    if (!fence) continue;
    const body: { n: number; text: string }[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^```\s*$/.test(lines[j] ?? ""); j++) body.push({ n: j + 1, text: lines[j] ?? "" });
    i = j;
    if (!SHELL_FENCES.has(fence[1] ?? "")) continue;
    const prompted = body.some((l) => l.text.startsWith("$ "));
    let current: { n: number; text: string } | undefined;
    let heredoc: string | undefined;
    for (const { n, text: raw } of body) {
      if (heredoc !== undefined && current) {
        current.text += `\n${raw}`;
        if (raw.trim() === heredoc) heredoc = undefined;
        if (heredoc === undefined) { commands.push({ file, line: current.n, command: current.text }); current = undefined; }
        continue;
      }
      if (!current) {
        if (prompted && !raw.startsWith("$ ")) continue;
        const start = withoutComment(prompted ? raw.slice(2) : raw);
        if (start.trim() === "" || start.trim().startsWith("#")) continue;
        current = { n, text: start };
      } else current.text += ` ${withoutComment(raw).trim()}`;
      const marker = /<<-?'?(\w+)'?\s*$/.exec(current.text);
      if (marker) { heredoc = marker[1]; continue; }
      if (current.text.endsWith("\\")) { current.text = current.text.slice(0, -1).trimEnd(); continue; }
      if (current.text.endsWith("|")) continue;
      commands.push({ file, line: current.n, command: current.text });
      current = undefined;
    }
  }
  return commands;
}

export function docCommands(root: string): DocCommand[] {
  const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
  return files.flatMap((file) => extractCommands(file, readFileSync(join(root, file), "utf8")));
}

export interface Runnable {
  readonly pattern: RegExp;
  /** What is run instead, when the command as written would deploy or start something; default: the command. */
  readonly rewrite?: (command: string) => string;
}

/**
 * Commands the test runs, each in the scratch directory of its file (in
 * document order; it starts with examples/ and providers.yaml, a copy of the
 * example), `npm run cli --` meaning this checkout's CLI; ROOT and WRANGLER
 * stand for the checkout and its wrangler.
 */
export const RUNNABLE: readonly Runnable[] = [
  { pattern: /^npm run cli -- policy (init|validate) / },
  { pattern: /^npm run cli -- policy test examples\/providers\.yaml .*--claims '/ },
  { pattern: /^npm run cli -- keys generate( |$)/ },
  { pattern: /^cp examples\/providers\.yaml providers\.yaml$/ },
  { pattern: /^printf '%s\\n%s' "\$ISSUER" .*\| sha256sum$/ },
  // Deploys become wrangler's dry run: it bundles and validates the config as a deploy reads it, uploading nothing.
  { pattern: /^npm run deploy$/, rewrite: () => "WRANGLER deploy --dry-run --outdir \"$PWD/.dry-run/token\" --config ROOT/wrangler.toml" },
  { pattern: /^npm run deploy:proxy$/, rewrite: () => "WRANGLER deploy --dry-run --outdir \"$PWD/.dry-run/proxy\" --config ROOT/proxy-worker/wrangler.toml" },
  { pattern: /^node node_modules\/wrangler\/bin\/wrangler\.js deploy --config proxy-worker\/wrangler\.toml$/, rewrite: () => "WRANGLER deploy --dry-run --outdir \"$PWD/.dry-run/proxy\" --config ROOT/proxy-worker/wrangler.toml" },
];

/** Commands that can't run on a test machine, and why. Each entry must still match a command in the docs. */
export const NOT_RUNNABLE: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
  { pattern: /^npm install && npm start$|^npm start$|^(UPSTREAM_URL=\S+ )?npm run start:proxy/, reason: "starts a long-running server (scripts/start*.ts, exercised by the e2e suite)" },
  { pattern: /^npm test( -w credential-helper)?$|^cd e2e && npx vitest run |^npm run build -w credential-helper$|^npx tsx credential-helper\/test\/measure-get\.ts/, reason: "the test suite, a build or a measurement: npm test runs these itself" },
  { pattern: /^npx wrangler (d1 create|kv namespace create|secret put|d1 migrations apply \S+ --remote|tail)|^node node_modules\/wrangler\/bin\/wrangler\.js secret put|^wrangler kv key get/, reason: "needs a Cloudflare account (the deploy itself is run as wrangler deploy --dry-run)" },
  { pattern: /^npm run cli -- policy apply \S+ --remote|^npm run cli -- policy apply \S+ --local|^jwt-registry-auth policy (diff|apply|history|rollback) .*--local/, reason: "writes the deployed or the local D1; cli/src/policy/{apply,diff,history,rollback}.test.ts run these against a local D1" },
  { pattern: /^npm run cli -- policy test (providers|examples\/providers)\.yaml .*(--claims @claims\.json|--cases cases\.yaml|--token "\$TOKEN")|^jwt-registry-auth policy replay /, reason: "reads the reader's own file or token (claims.json, cases.yaml, $TOKEN, a tail log); cli/src/policy/test-command.test.ts and replay.test.ts cover the flags" },
  { pattern: /^(echo "\$WORKLOAD_JWT" \| )?docker |^skopeo |^curl -i http:\/\/127\.0\.0\.1:8788|^docker-credential-jwt-registry-auth configure |^cat > ~\/\.config\/jwt-registry-auth\/helper\.json|^install -m 0755 /, reason: "needs a registry, a docker daemon, a workload token or writes outside the checkout; the e2e suite runs these clients" },
  { pattern: /^openssl /, reason: "an OpenSSL recipe for keys made elsewhere; cli/src/keys tests check the same formats with OpenSSL-made fixtures" },
  { pattern: /^gcloud |^az |^aws |^curl -X POST https:\/\/quay\.io\/api\/v1\//, reason: "needs a cloud account (AWS, GCP, Azure or quay.io); the stand-ins in testkit/src/cloud check what these set up" },
];

export function classify(command: string): { kind: "run"; run: string } | { kind: "skip"; reason: string } | { kind: "unknown" } {
  const runnable = RUNNABLE.find((r) => r.pattern.test(command));
  if (runnable) return { kind: "run", run: runnable.rewrite ? runnable.rewrite(command) : command };
  const skipped = NOT_RUNNABLE.find((s) => s.pattern.test(command));
  return skipped ? { kind: "skip", reason: skipped.reason } : { kind: "unknown" };
}
