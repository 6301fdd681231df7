/**
 * The one result type of the servers' fallible steps: success carries its
 * `value`; a failure carries the fields that step's callers act on (a stable
 * `reason` and a `detail` for the log line, a list of `errors`, …), so each
 * step keeps its own failure vocabulary while every caller narrows the same
 * way, on `ok`.
 */
export type Result<T, F extends object = { readonly detail: string }> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & Readonly<F>);

/** The failure members of a {@link Result}. */
export type Failure<R extends { readonly ok: boolean }> = Extract<R, { readonly ok: false }>;

