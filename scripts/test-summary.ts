// Adds up the vitest JSON reports of every suite into one closing line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface VitestReport {
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly numTodoTests: number;
}

const dir = process.argv[2] ?? ".";
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const file of readdirSync(dir).sort()) {
  const report = JSON.parse(readFileSync(join(dir, file), "utf8")) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  rows.push(`  ${file.replace(/\.json$/, "").padEnd(14)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
console.log(`\nSuites:\n${rows.join("\n")}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
