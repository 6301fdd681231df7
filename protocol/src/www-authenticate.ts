/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1) as Distribution uses them:
 * `Bearer realm="…",service="…",scope="…"[,error="…"]`.
 */

export interface BearerChallenge {
  readonly realm: string;
  readonly service?: string;
  /** Space-joined scopes, as Distribution sends them. */
  readonly scope?: string;
  readonly error?: "invalid_token" | "insufficient_scope" | "invalid_request";
  readonly errorDescription?: string;
}

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** RFC 9110 quoted-string: backslash-escape `"` and `\`; control characters cannot be carried and are dropped. */
export function quoteString(value: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, "").replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function formatBearerChallenge(challenge: BearerChallenge): string {
  const params: [string, string | undefined][] = [
    ["realm", challenge.realm],
    ["service", challenge.service],
    ["scope", challenge.scope],
    ["error", challenge.error],
    ["error_description", challenge.errorDescription],
  ];
  return `Bearer ${params
    .filter((p): p is [string, string] => p[0] === "realm" || (p[1] !== undefined && p[1] !== ""))
    .map(([k, v]) => `${k}=${quoteString(v)}`)
    .join(",")}`;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` value that may hold several challenges
 * (`Basic realm="x", Bearer realm="y",service="z"`). Parameter names are
 * lower-cased; malformed input yields the challenges parsed before the fault.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string | undefined => {
    i++; // opening quote
    let out = "";
    while (i < n) {
      const c = header[i] as string;
      if (c === "\\" && i + 1 < n) {
        out += header[i + 1];
        i += 2;
      } else if (c === '"') {
        i++;
        return out;
      } else {
        out += c;
        i++;
      }
    }
    return undefined; // unterminated
  };

  while (i < n) {
    skipSpace();
    while (i < n && header[i] === ",") {
      i++;
      skipSpace();
    }
    if (i >= n) break;
    const scheme = readToken();
    if (scheme === "") return challenges;
    const current = { scheme, params: {} as Record<string, string> };
    challenges.push(current);
    for (;;) {
      skipSpace();
      const save = i;
      const name = readToken();
      skipSpace();
      if (name === "" || header[i] !== "=") {
        // Not a parameter: the start of the next challenge (or the end).
        i = save;
        break;
      }
      i++;
      skipSpace();
      let value: string | undefined;
      if (header[i] === '"') value = readQuoted();
      else value = readToken();
      if (value === undefined) return challenges;
      current.params[name.toLowerCase()] = value;
      skipSpace();
      if (header[i] === ",") {
        i++;
        continue;
      }
      break;
    }
  }
  return challenges;
}

/** The first Bearer challenge of a header, if any, as a typed record. */
export function parseBearerChallenge(header: string): BearerChallenge | undefined {
  const bearer = parseWwwAuthenticate(header).find((c) => c.scheme.toLowerCase() === "bearer");
  const realm = bearer?.params["realm"];
  if (!bearer || realm === undefined) return undefined;
  const { service, scope, error } = bearer.params;
  return {
    realm,
    ...(service !== undefined && { service }),
    ...(scope !== undefined && { scope }),
    ...(error !== undefined && { error: error as BearerChallenge["error"] }),
    ...(bearer.params["error_description"] !== undefined && { errorDescription: bearer.params["error_description"] }),
  };
}
