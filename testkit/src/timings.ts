/** Wall-clock timings of named steps, printed as one table at the end of a suite. */
export interface Timings {
  /** Runs `fn` and records how long it took under `name` (also when it throws). */
  measure<T>(name: string, fn: () => Promise<T>): Promise<T>;
  readonly entries: readonly { readonly name: string; readonly ms: number }[];
  /** The table as text. */
  format(title: string): string;
}

export function createTimings(): Timings {
  const entries: { name: string; ms: number }[] = [];
  return {
    entries,
    async measure(name, fn) {
      const started = performance.now();
      try {
        return await fn();
      } finally {
        entries.push({ name, ms: performance.now() - started });
      }
    },
    format(title) {
      const width = Math.max(...entries.map((e) => e.name.length), 8);
      const lines = entries.map((e) => `  ${e.name.padEnd(width)}  ${e.ms.toFixed(0).padStart(7)} ms`);
      return [`${title} timings:`, ...lines].join("\n");
    },
  };
}
