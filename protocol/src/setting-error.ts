/**
 * A missing or invalid Worker setting. Both Workers answer every request with a
 * 500 naming `setting` while one is broken, rather than half-working.
 */
export class SettingError extends Error {
  override readonly name = "SettingError";
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

/** A `"true"`/`"false"` setting; unset or empty gives `fallback`, anything else is a SettingError. */
export function booleanSetting(setting: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SettingError(setting, `${setting} must be "true" or "false"`);
}
