// Adds up the vitest JSON reports of every suite into one closing block: a line per
// suite, then every failed test by name with the first lines of its failure, then the
// total. CI shows only the tail of the log, so the names of failures must be here.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface AssertionResult {
  readonly status: string;
  readonly fullName: string;
  readonly failureMessages?: readonly string[];
}

interface VitestReport {
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly numTodoTests: number;
  readonly testResults?: readonly {
    readonly name: string;
    readonly status?: string;
    readonly message?: string;
    readonly assertionResults: readonly AssertionResult[];
  }[];
}

/** The lines to print for each failure: where, which test, and the first lines of why. */
export function failureLines(suite: string, report: VitestReport): string[] {
  const lines: string[] = [];
  for (const file of report.testResults ?? []) {
    const path = file.name.slice(file.name.lastIndexOf(`/${suite}/`) + 1);
    // A file that fails to load has no assertion results, only a message.
    if (file.status === "failed" && file.assertionResults.length === 0) {
      lines.push(`  FAIL ${path}`, ...indent(file.message ?? "(no message)"));
    }
    for (const test of file.assertionResults) {
      if (test.status !== "failed") continue;
      lines.push(`  FAIL ${path} > ${test.fullName}`, ...indent(test.failureMessages?.[0] ?? "(no message)"));
    }
  }
  return lines;
}

function indent(message: string): string[] {
  return message.split("\n").slice(0, 6).map((line) => `       ${line}`);
}

function main(dir: string): number {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const rows = [];
  const failures = [];
  for (const file of readdirSync(dir).sort()) {
    const suite = file.replace(/\.json$/, "");
    const report = JSON.parse(readFileSync(join(dir, file), "utf8")) as VitestReport;
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    rows.push(`  ${suite.padEnd(14)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
    failures.push(...failureLines(suite, report));
  }
  console.log(`\nSuites:\n${rows.join("\n")}`);
  if (failures.length > 0) console.log(`\nFailed:\n${failures.join("\n")}`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) process.exit(main(process.argv[2] ?? "."));
