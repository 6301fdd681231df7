import { createHash } from "node:crypto";

/** How a token appears in logs, annotations and metrics: its SHA-256, never the token. */
export const tokenSha256 = (token: string): string => createHash("sha256").update(token).digest("hex");
