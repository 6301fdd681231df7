/**
 * Writes settings into a wrangler `.dev.vars` file. Wrangler 4.86 parses it with
 * dotenv 16.3 (`dotenv.parse`, no expansion): a double-quoted value may hold
 * `\n` escapes, which become newlines. So a PEM is written on one line as
 * `NAME="-----BEGIN …-----\n…\n"`. Other lines are kept as they are; an
 * existing assignment of the same name (even a multi-line quoted one) is
 * replaced in place, and later duplicates are dropped.
 */

/** dotenv's assignment syntax: optional `export`, a name of word characters, `.` or `-`, then `=` or `: `. */
const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*|:\s+)(.*)$/;

export class DevVarsError extends Error {
  override readonly name = "DevVarsError";
}

/** `NAME="value"` with newlines as `\n`, as dotenv reads it back. */
export function formatDevVar(name: string, value: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new DevVarsError(`invalid variable name ${JSON.stringify(name)}`);
  // dotenv has no escape for `"` or for a literal backslash-n; PEM never contains either.
  if (value.includes('"') || value.includes("\\") || value.includes("\r")) throw new DevVarsError(`the value of ${name} can't be written to a .dev.vars file (it holds '"', '\\' or a carriage return)`);
  return `${name}="${value.replace(/\n/g, "\\n")}"`;
}

/** How many lines, from `start`, the assignment on line `start` spans (dotenv: a quoted value may run over lines). */
function assignmentSpan(lines: readonly string[], start: number, firstValue: string): number {
  const value = firstValue.trimStart();
  const quote = value[0];
  if (quote !== '"' && quote !== "'" && quote !== "`") return 1;
  let text = value.slice(1);
  for (let end = start; end < lines.length; end++) {
    for (let i = 0; i < text.length; i++) {
      if (quote === '"' && text[i] === "\\" && text[i + 1] === '"') i++;
      else if (text[i] === quote) return end - start + 1;
    }
    text = `\n${lines[end + 1] ?? ""}`;
  }
  // An unclosed quote: dotenv reads just this line.
  return 1;
}

/** The file text with `values` set; everything else as it was. */
export function updateDevVars(text: string, values: Readonly<Record<string, string>>): string {
  const lines = text === "" ? [] : text.replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n");
  const out: string[] = [];
  const written = new Set<string>();
  for (let i = 0; i < lines.length; ) {
    const line = lines[i] as string;
    const match = ASSIGNMENT.exec(line);
    const name = match?.[1];
    if (match && name !== undefined && Object.hasOwn(values, name)) {
      if (!written.has(name)) out.push(formatDevVar(name, values[name] as string));
      written.add(name);
      i += assignmentSpan(lines, i, match[2] ?? "");
    } else {
      out.push(line);
      i++;
    }
  }
  for (const [name, value] of Object.entries(values)) if (!written.has(name)) out.push(formatDevVar(name, value));
  return `${out.join("\n")}\n`;
}
