/** The repository root (where the workspaces' `package.json` and `wrangler.toml` are). */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
