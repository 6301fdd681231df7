/**
 * The controller's Prometheus metrics, rendered in the text exposition format
 * (0.0.4). Few enough that a registry library would be more code than this.
 */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly values: Map<string, { labels: Labels; value: number }>;
  readonly read?: () => number | undefined;
}

const escape = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const keyOf = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort());

export class Metrics {
  private readonly families = new Map<string, Family>();

  constructor() {
    this.counter("jwt_registry_auth_reconciles_total", "ServiceAccount reconciles, by result.");
    this.counter("jwt_registry_auth_reconcile_errors_total", "Failed reconciles, by the API status code or error kind.");
    this.counter("jwt_registry_auth_tokens_issued_total", "Service-account tokens obtained with TokenRequest, by registry.");
    this.counter("jwt_registry_auth_pull_secrets_deleted_total", "Pull Secrets removed after an opt-out, by registry.");
    this.gauge("jwt_registry_auth_leader", "1 while this replica holds the leader Lease.");
  }

  private family(name: string): Family {
    const family = this.families.get(name);
    if (!family) throw new Error(`unknown metric ${name}`);
    return family;
  }

  private counter(name: string, help: string): void {
    this.families.set(name, { help, type: "counter", values: new Map() });
  }

  private gauge(name: string, help: string, read?: () => number | undefined): void {
    this.families.set(name, { help, type: "gauge", values: new Map(), ...(read && { read }) });
  }

  /** A gauge computed when scraped (e.g. seconds until the next rotation); undefined omits the sample. */
  gaugeFunction(name: string, help: string, read: () => number | undefined): void {
    this.gauge(name, help, read);
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const values = this.family(name).values;
    const key = keyOf(labels);
    const entry = values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    values.set(key, entry);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    this.family(name).values.set(keyOf(labels), { labels, value });
  }

  get(name: string, labels: Labels = {}): number {
    return this.family(name).values.get(keyOf(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      if (family.read) {
        const value = family.read();
        if (value !== undefined) lines.push(`${name} ${value}`);
        continue;
      }
      for (const { labels, value } of family.values.values()) {
        const rendered = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
        lines.push(`${name}${rendered.length > 0 ? `{${rendered.join(",")}}` : ""} ${value}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}
