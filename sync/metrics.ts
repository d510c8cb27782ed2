/**
 * The bridge's metrics in Prometheus' text exposition format (version 0.0.4), served with
 * `/healthz` on `--metrics-addr`. Counters and gauges with labels; nothing else is needed.
 */
import { createServer, type Server } from "node:http";

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Family {
  readonly values = new Map<string, number>();
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  constructor(name: string, help: string, type: "counter" | "gauge") {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.values.size === 0 && this.type === "gauge") lines.push(`${this.name} 0`);
    for (const [labels, value] of this.values) lines.push(`${this.name}${labels} ${value}`);
    return lines.join("\n");
  }
}

class Counter extends Family {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }
}

class Gauge extends Family {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), value);
  }
}

export class Metrics {
  readonly mirrored = new Gauge("nomad_sync_allocations_mirrored", "Allocations whose newest Nomad state the edge has acknowledged.");
  readonly known = new Gauge("nomad_sync_allocations_nomad", "Allocations Nomad listed at the last reconcile.");
  readonly dirty = new Gauge("nomad_sync_allocations_pending", "Allocations with a newer Nomad state not yet acknowledged by the edge.");
  readonly cursor = new Gauge("nomad_sync_cursor_index", "Highest Nomad index whose changes the edge has acknowledged.");
  readonly nomadIndex = new Gauge("nomad_sync_nomad_index", "Highest Nomad index seen (event stream or list).");
  readonly lag = new Gauge("nomad_sync_index_lag", "Nomad index seen minus the acknowledged cursor (0 when caught up).");
  readonly ackLagSeconds = new Gauge(
    "nomad_sync_ack_lag_seconds",
    "Seconds from receiving the newest change to the edge acknowledging it (last write).",
  );
  readonly writes = new Counter(
    "nomad_sync_writes_total",
    "Allocation changes written to the edge, by op and result (applied, stale, absent).",
  );
  readonly rejects = new Counter("nomad_sync_rejects_total", "Changes and log appends the edge refused with a 4xx (logged, not retried).");
  readonly retries = new Counter("nomad_sync_edge_retries_total", "Edge requests retried (429, 5xx, network), by kind.");
  readonly edgeRequests = new Counter("nomad_sync_edge_requests_total", "Edge HTTP requests, by kind and status code.");
  readonly events = new Counter("nomad_sync_events_total", "Allocation events received from Nomad's event stream, by type.");
  readonly reconnects = new Counter("nomad_sync_stream_reconnects_total", "Event-stream (re)connections after the first, by reason.");
  readonly reconciles = new Counter("nomad_sync_reconciles_total", "Full list-and-compare passes.");
  readonly jobFetches = new Counter("nomad_sync_job_fetches_total", "Full allocations fetched from Nomad (for their Job).");
  readonly deletes = new Counter("nomad_sync_gc_deletes_total", "Allocations deleted at the edge after --gc-retain.");
  readonly logBytes = new Counter("nomad_sync_log_bytes_total", "Log bytes the edge acknowledged.");
  readonly logGaps = new Counter("nomad_sync_log_gaps_total", "Log files Nomad rotated away before they could be shipped.");
  readonly logStreams = new Gauge("nomad_sync_log_streams", "Task log streams being shipped.");

  render(): string {
    const families = Object.values(this).filter((v): v is Family => v instanceof Family);
    return `${families.map((f) => f.render()).join("\n")}\n`;
  }

  serve(host: string, port: number, healthy: () => boolean): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(this.render());
      } else if (req.url === "/healthz") {
        const ok = healthy();
        res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(ok ? "ok\n" : "not connected\n");
      } else {
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("404 page not found\n");
      }
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
