/** Names of the values main passes to post through `GITHUB_STATE` (read back as `STATE_<name>`). */
export const STATE = {
  config: "config",
  registry: "registry",
  /** SHA-256 of the entry main wrote: post removes the entry only if it is still that one. */
  fingerprint: "fingerprint",
  logout: "logout",
  /** credential-helper: true — what to undo, as JSON (helper.ts HelperState). */
  helper: "helper",
} as const;
