/** A process environment as the clients read it: never mutated, any variable may be missing. */
export type Env = Readonly<Record<string, string | undefined>>;
