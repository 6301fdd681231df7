/**
 * One memoised settings reader for both Workers. Settings change only with a
 * deploy or a new `.dev.vars`, so they are parsed once per isolate and change:
 *
 * - the same env object (workerd passes the same one to every request of an
 *   isolate) is answered from memory without looking at a single value;
 * - a different env object whose settings are the same values (compared with
 *   `===`, so bindings compare by identity and PEMs are never re-hashed) keeps
 *   the parsed settings;
 * - anything else is read again. A read that throws, or whose promise
 *   rejects, is not kept: the next request reads (and reports) it again.
 */
export function settingsReader<E extends object, S>(names: readonly (keyof E)[], read: (env: E) => S): (env: E) => S {
  let last: { env: E; readonly values: readonly unknown[]; readonly settings: S } | undefined;
  return (env) => {
    if (last?.env === env) return last.settings;
    const values = names.map((name) => env[name]);
    if (last !== undefined && values.every((value, i) => value === last?.values[i])) {
      last.env = env;
      return last.settings;
    }
    const settings = read(env);
    const entry = { env, values, settings };
    last = entry;
    if (settings instanceof Promise) {
      settings.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return settings;
  };
}
