/** A process environment as the clients read it (`process.env`, or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>;
