/**
 * The `--profile` summary of a CPU profile of the Worker's isolate (Profiler.start/stop over the
 * inspector): self time per function, per part of the write path (by function name), and per
 * source module. The bundle wrangler built marks where each module's code starts with a
 * `// <path>` comment line, so a sample's line in the bundle names the module it ran in; native
 * frames (no bundle line: SQLite's `exec`, `fetch`, `Response`, the rate-limit binding's module)
 * are kept by name.
 */
import { round } from "./measure.ts";

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Line (0-based) → the module whose code starts at or before it, from the bundle's `// path` markers. */
function moduleLines(bundle: string): (line: number) => string {
  const starts: Array<{ line: number; module: string }> = [];
  bundle.split("\n").forEach((text, line) => {
    // The paths are relative to the bundle's directory (`../../src/…`, or further up when the
    // results are written outside the tree): keep them from the tree's own top-level folder.
    const match = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(text);
    const module = match?.[1] ? /(?:^|\/)((?:src|test|node_modules)\/\S+)$/.exec(match[1])?.[1] : undefined;
    if (module) starts.push({ line, module });
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const start = starts[mid] as (typeof starts)[number];
      if (start.line <= line) {
        found = start.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** Self time per function (top 25), per part of the write path and per source module (`bundle`: the profiled Worker's code), in ms per write. */
export function summarizeProfile(
  profile: CpuProfile,
  writes: number,
  bundle?: string,
): {
  topSelfMsPerWrite: unknown[];
  byPartMsPerWrite: Record<string, number>;
  byModuleMsPerWrite?: Record<string, number>;
  totalSampledMsPerWrite: number;
} {
  const moduleOf = bundle ? moduleLines(bundle) : undefined;
  const modules: Record<string, number> = {};
  const self = new Map<number, number>();
  profile.samples.forEach((node, i) => {
    self.set(node, (self.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const byFunction = new Map<string, number>();
  const parts: Record<string, number> = {};
  /** `module`: the source module of a frame in the bundle (undefined without the bundle, or for a native frame). */
  const part = (name: string, module: string | undefined): string => {
    if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return name;
    if (/sha256|digest|hashToken|tokenDigest|timingSafeEqual/i.test(name)) return "token hashing";
    if (/checkRateLimit|limit/i.test(name)) return "rate limit";
    if (/encodeJson|writeValue|encodeString|quote/i.test(name)) return "JSON encoding";
    if (/parseJson|parseValue|parseObject|parseArray|parseString|parseNumber/i.test(name)) return "JSON parsing";
    if (/normalize|fillStruct|zeroValue|resolve$/i.test(name)) return "validation";
    if (/exec|transactionSync|sql/i.test(name)) return "SQLite";
    // The catalog's own methods by exact name: a looser match once counted the batch's
    // `applyChange` (the Worker's call to each object, whose self time is mostly the runtime
    // starting the object) as catalog recording, 2.1 of its 2.2 ms per new allocation.
    if (
      /^(record|recordMany|recordCarried|recordedIndex|applyChanges|#gather|#flush|#entry|allocListStub)$/.test(name) ||
      module === "src/durable/region-catalog.ts"
    )
      return "catalog recording";
    if (name === "applyChange") return "the batch's call to each object";
    if (/deliverOutbox|commit/i.test(name)) return "commit and delivery";
    if (name === "") return "(anonymous)";
    return "other";
  };
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    const key = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}:${node.callFrame.lineNumber}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    // The frame's own module, when it ran in the bundle (the URL is the bundle's, never the source's).
    const source = moduleOf && node.callFrame.url.endsWith("bench-worker.js") ? moduleOf(node.callFrame.lineNumber) : undefined;
    const p = part(node.callFrame.functionName, source);
    parts[p] = (parts[p] ?? 0) + ms;
    if (moduleOf) {
      const m = source ?? `(native) ${node.callFrame.functionName || "(anonymous)"}`;
      modules[m] = (modules[m] ?? 0) + ms;
    }
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return {
    totalSampledMsPerWrite: round(total / writes, 3),
    topSelfMsPerWrite: [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([fn, ms]) => ({ fn, msPerWrite: round(ms / writes, 4) })),
    byPartMsPerWrite: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v / writes, 4)])),
    ...(moduleOf
      ? {
          byModuleMsPerWrite: Object.fromEntries(
            Object.entries(modules)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => [k, round(v / writes, 4)]),
          ),
        }
      : {}),
  };
}
