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
