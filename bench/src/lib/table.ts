/** Result tables: one shape for the console, the JSON results and the README. */

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A Markdown table (also what the console prints: it reads fine as plain text). */
export function formatTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [`**${table.title}**`, "", line(table.columns), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...table.rows.map(line)].join("\n");
}

/** Microseconds as "0.84 ms" / "12.3 ms" / "1.20 s". */
export function ms(us: number): string {
  if (!Number.isFinite(us)) return "–";
  const value = us / 1000;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)} ms`;
}

export function fixed(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** a / b as "1.23×". */
export function ratio(a: number, b: number): string {
  return b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–";
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
