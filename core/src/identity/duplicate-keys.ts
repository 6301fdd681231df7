/**
 * Does a JSON text have an object with the same key twice, at any depth?
 * JSON.parse (and so jose) keeps the last one, so `{"alg":"none","alg":"RS256"}`
 * or a second `repository_owner` would mean one thing to us and maybe another
 * to whatever else reads the token. Keys are compared as JSON.parse sees them,
 * escapes decoded (`"alg"` and `"\u0061lg"` are the same key).
 *
 * A single pass over the text with an explicit stack (no recursion, so no
 * depth limit to hit). It trusts the text to be JSON: on text that is not, the
 * answer is meaningless, and the JSON.parse that follows refuses it anyway.
 * A JWS part is scanned as its raw bytes (one char per byte, straight from
 * atob): JSON's structure is ASCII and no byte of a multi-byte UTF-8 sequence
 * is `"` or `\`, so only keys that hold non-ASCII bytes need decoding. That
 * halves the cost of decoding the part to text first.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index just past the string literal that starts at `start` (a `"`), or -1 if it never ends. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return -1;
    // The quote is escaped when an odd number of backslashes precede it.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

type KeyDecoder = (literal: string) => string | undefined;

/** A key of JSON text, as JSON.parse would see it. */
function textKey(literal: string): string | undefined {
  if (!literal.includes("\\")) return literal.slice(1, -1);
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const NON_ASCII = /[\u0080-\u00ff]/;

/** A key of JSON bytes held one per char: non-ASCII keys are decoded as UTF-8 first. */
function byteKey(literal: string): string | undefined {
  if (!NON_ASCII.test(literal)) return textKey(literal);
  const bytes = new Uint8Array(literal.length);
  for (let i = 0; i < literal.length; i++) bytes[i] = literal.charCodeAt(i);
  try {
    return textKey(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

/** Whether a base64url part of a compact JWS (header or payload) repeats a key; false if it doesn't decode (jose refuses it). */
export function jwsPartHasDuplicateKey(part: string): boolean {
  let bytes: string;
  try {
    bytes = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return false;
  }
  return scan(bytes, byteKey);
}

export function hasDuplicateKey(text: string): boolean {
  return scan(text, textKey);
}

function scan(text: string, keyOf: KeyDecoder): boolean {
  // One entry per open object (its keys so far) or array (undefined).
  const open: (Set<string> | undefined)[] = [];
  // The last structural character: a string right after `{` or `,` inside an object is a key.
  let previous = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return false;
      const keys = open[open.length - 1];
      if (keys !== undefined && (previous === 0x7b || previous === 0x2c)) {
        const key = keyOf(text.slice(i, end));
        if (key === undefined) return false;
        if (keys.has(key)) return true;
        keys.add(key);
      }
      previous = QUOTE;
      i = end;
      continue;
    }
    if (c === 0x7b /* { */) open.push(new Set());
    else if (c === 0x5b /* [ */) open.push(undefined);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) open.pop();
    else if (c !== 0x2c /* , */ && c !== 0x3a /* : */) {
      // Whitespace, or a number/true/false/null: nothing that can hold a key.
      i++;
      continue;
    }
    previous = c;
    i++;
  }
  return false;
}
