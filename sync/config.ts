/**
 * The command line and environment of `nomad-alloc-edge sync`, parsed into one settings object.
 * Flags win over environment variables; the Nomad ones are read as Nomad's CLI reads them
 * (`NOMAD_ADDR`, `NOMAD_TOKEN`, `NOMAD_REGION`, `NOMAD_NAMESPACE`, `NOMAD_CACERT`, `NOMAD_CLIENT_CERT`,
 * `NOMAD_CLIENT_KEY`, `NOMAD_TLS_SERVER_NAME`, `NOMAD_SKIP_VERIFY`: hashicorp/nomad api/api.go
 * `DefaultConfig` and `ConfigureTLS`), the edge ones as `EDGE_ADDR` and `EDGE_TOKEN`.
 */
import { parseGoBool } from "../src/json/go-bool.ts";
import { parseDurationMs, UsageError } from "./duration.ts";

export type LogsMode = "none" | "running" | "all";

export interface TlsFiles {
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  serverName?: string;
  skipVerify: boolean;
}

export interface SyncConfig {
  nomadAddr: string;
  nomadToken?: string;
  nomadRegion?: string;
  nomadTls: TlsFiles;
  edgeAddr: string;
  edgeToken?: string;
  edgeRegion?: string;
  stateDir: string;
  namespace: string;
  logs: LogsMode;
  gcRetainMs: number;
  once: boolean;
  metricsAddr?: { host: string; port: number };
  reconcileEveryMs: number;
  maxInflight: number;
  batchSize: number;
  logPollMs: number;
}

export const USAGE = `usage: nomad-alloc-edge sync --nomad-addr <url> --edge-addr <url> --state-dir <dir> [--nomad-token <t>] [--edge-token <t>]
         [--edge-region <r>] [--namespace '*'] [--logs none|running|all] [--gc-retain <duration>] [--once]
         [--metrics-addr <host:port>] [--reconcile-every <duration>] [--max-inflight <n>] [--batch-size <n>]

  --nomad-addr       Nomad HTTP API (NOMAD_ADDR; default http://127.0.0.1:4646; unix:///path for a socket)
  --nomad-token      Nomad ACL token (NOMAD_TOKEN); TLS from NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
                     NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY; region from --nomad-region or NOMAD_REGION
  --edge-addr        the edge API (EDGE_ADDR)
  --edge-token       edge token with node:write and read-job (EDGE_TOKEN)
  --edge-region      edge region to write into (default: the edge's default region)
  --state-dir        where the cursor, the mirrored indexes and the log positions are kept
  --namespace        Nomad namespace to mirror, '*' for every namespace the token can read (default '*')
  --logs             ship task logs: none (default), running (tasks of running allocations), all
  --gc-retain        keep allocations gone from Nomad this long at the edge (default 24h; 0s deletes at once)
  --once             one full reconcile, then exit 0 when the edge matches the cluster, 1 otherwise
  --metrics-addr     serve Prometheus metrics and /healthz on this address (e.g. 127.0.0.1:9464)
  --reconcile-every  full re-list period while following (default 5m)
  --max-inflight     concurrent edge writes (default 8)
  --batch-size       changes per batched edge write (default 100, at most 500)`;

const FLAGS = new Set([
  "nomad-addr",
  "nomad-token",
  "nomad-region",
  "edge-addr",
  "edge-token",
  "edge-region",
  "state-dir",
  "namespace",
  "logs",
  "gc-retain",
  "metrics-addr",
  "reconcile-every",
  "max-inflight",
  "batch-size",
  "log-poll",
]);
const SWITCHES = new Set(["once"]);

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function positiveInt(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`--${flag}: expected an integer from 1 to ${max}`);
  return Number(text);
}

function hostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new UsageError(`--metrics-addr: expected host:port, got ${JSON.stringify(text)}`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

function goBool(text: string | undefined): boolean {
  return text !== undefined && parseGoBool(text) === true;
}

function checkUrl(text: string, flag: string): string {
  if (text.startsWith("unix://")) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--${flag}: expected http(s)://, got ${url.protocol}`);
  return text.replace(/\/+$/, "");
}

/** Parses `argv` (the arguments after `sync`) and `env`; throws UsageError on any mistake. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): SyncConfig {
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (SWITCHES.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      switches.add(name);
      continue;
    }
    if (!FLAGS.has(name)) throw new UsageError(`unknown flag --${name}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    flags.set(name, value);
  }
  const edgeAddr = nonEmpty(flags.get("edge-addr")) ?? nonEmpty(env.EDGE_ADDR);
  if (!edgeAddr) throw new UsageError("--edge-addr (or EDGE_ADDR) is required");
  const stateDir = nonEmpty(flags.get("state-dir"));
  if (!stateDir) throw new UsageError("--state-dir is required");
  const logs = flags.get("logs") ?? "none";
  if (logs !== "none" && logs !== "running" && logs !== "all") throw new UsageError("--logs: expected none, running or all");
  const metrics = flags.get("metrics-addr");
  const config: SyncConfig = {
    nomadAddr: checkUrl(nonEmpty(flags.get("nomad-addr")) ?? nonEmpty(env.NOMAD_ADDR) ?? "http://127.0.0.1:4646", "nomad-addr"),
    nomadToken: nonEmpty(flags.get("nomad-token")) ?? nonEmpty(env.NOMAD_TOKEN),
    nomadRegion: nonEmpty(flags.get("nomad-region")) ?? nonEmpty(env.NOMAD_REGION),
    nomadTls: {
      caCert: nonEmpty(env.NOMAD_CACERT),
      clientCert: nonEmpty(env.NOMAD_CLIENT_CERT),
      clientKey: nonEmpty(env.NOMAD_CLIENT_KEY),
      serverName: nonEmpty(env.NOMAD_TLS_SERVER_NAME),
      skipVerify: goBool(env.NOMAD_SKIP_VERIFY),
    },
    edgeAddr: checkUrl(edgeAddr, "edge-addr"),
    edgeToken: nonEmpty(flags.get("edge-token")) ?? nonEmpty(env.EDGE_TOKEN),
    edgeRegion: nonEmpty(flags.get("edge-region")),
    stateDir,
    namespace: nonEmpty(flags.get("namespace")) ?? nonEmpty(env.NOMAD_NAMESPACE) ?? "*",
    logs,
    gcRetainMs: parseDurationMs(flags.get("gc-retain") ?? "24h", "--gc-retain"),
    once: switches.has("once"),
    metricsAddr: metrics === undefined ? undefined : hostPort(metrics),
    reconcileEveryMs: parseDurationMs(flags.get("reconcile-every") ?? "5m", "--reconcile-every"),
    maxInflight: positiveInt(flags.get("max-inflight") ?? "8", "max-inflight", 256),
    batchSize: positiveInt(flags.get("batch-size") ?? "100", "batch-size", 500),
    logPollMs: parseDurationMs(flags.get("log-poll") ?? "1s", "--log-poll"),
  };
  if ((config.nomadTls.clientCert === undefined) !== (config.nomadTls.clientKey === undefined)) {
    throw new UsageError("NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY must be given together");
  }
  if (config.reconcileEveryMs < 1000) throw new UsageError("--reconcile-every: at least 1s");
  if (config.logPollMs < 50) throw new UsageError("--log-poll: at least 50ms");
  return config;
}
