/**
 * The region's list and event stream over its catalog shards (`CATALOG_SHARDS`). With one shard
 * (or a query that touches one) the shard answers as it is. Over several, the Worker merges:
 *
 * - **List.** Shards own contiguous id ranges, so the page is their pages one after the other
 *   (in reverse shard order for `reverse`); each shard applies the namespace, ACL and filter.
 *   Its index is the highest shard index read; so that every later change in any shard is above
 *   it, lagging shards are raised to it (the clock's receive rule), and a shard that recorded a
 *   change meanwhile is read again. A blocking list parks in every shard and answers, merged, on
 *   the first wake.
 * - **Stream.** Each shard streams its events in index order and, when caught up, a watermark (every
 *   event up to N sent). An event goes out once every shard's watermark is at or above it; an idle
 *   shard holding events back is raised to them. Indexes are unique across shards (shard k uses
 *   only ≡ k mod K), so the merged stream strictly increases and `index=N` resumes unambiguously.
 *
 * Indexes here are the objects' own (numbers, safe integers: index-clock.ts), event lines' included;
 * the client's `minIndex` stays a bigint and meets them only in comparisons, widened to bigint.
 */
import type { Config } from "../config.ts";
import { shardsFor } from "../domain/catalog-shard.ts";
import { STREAM_BUFFER_CHUNKS } from "../http/stream.ts";
import { encodeJson, parseJson } from "../json/codec.ts";
import type { ListItem, ListPage, ListQuery, ListResult, Refusal, StreamQuery } from "./contract.ts";
import { issuedIndex } from "./index-clock.ts";
import { catalogStub } from "./stub.ts";

/** Read-and-raise rounds before a merged list settles for an index that is safe without them. */
const MAX_CONSISTENCY_ROUNDS = 8;
/** Events a merged stream holds back per shard before it stops reading that shard. */
const MAX_QUEUED_PER_SHARD = 1000;

type Shard = ReturnType<typeof catalogStub>;

const hexOf = (id: string) => id.replaceAll("-", "");

/** Lists the region's allocations across its shards. */
export async function listRegion(
  env: Env,
  cfg: Config,
  region: string,
  query: ListQuery,
  signal: AbortSignal | undefined,
): Promise<ListResult> {
  const shards = shardsFor(query.prefix, hexOf(query.nextToken), cfg.catalogShards, query.reverse).map((k) =>
    catalogStub(env, cfg, region, k),
  );
  if (shards.length === 1) return (shards[0] as Shard).list(query, signal);
  const merged = await consistentPage(shards, query);
  if (merged.ok && query.minIndex !== 0n && BigInt(merged.index) <= query.minIndex) {
    const refused = await parkInEvery(shards, query, signal);
    return refused ?? consistentPage(shards, query);
  }
  return merged;
}

/** Parks the query in every shard; resolves when the first answers (woken, timed out, reset or refused). */
async function parkInEvery(shards: Shard[], query: ListQuery, signal: AbortSignal | undefined): Promise<Refusal | undefined> {
  const parked = new AbortController();
  const stop = () => parked.abort();
  signal?.addEventListener("abort", stop);
  try {
    const first = await Promise.race(
      shards.map((shard) =>
        shard.list({ ...query, perPage: 1, items: true }, parked.signal).then(
          (result) => (result.ok ? undefined : result),
          () => undefined,
        ),
      ),
    );
    return first;
  } finally {
    signal?.removeEventListener("abort", stop);
    stop();
  }
}

/** The shards' pages read at once (a shard's refusal, the first in shard order, refuses the whole list). */
async function readPages(shards: Shard[], query: ListQuery): Promise<ListPage[] | Refusal> {
  const results = await Promise.all(shards.map((shard) => shard.list({ ...query, minIndex: 0n, items: true })));
  const pages: ListPage[] = [];
  for (const result of results) {
    if (!result.ok) return result;
    const { index, body, nextToken, items } = result;
    pages.push({ ok: true, index, body, nextToken, items });
  }
  return pages;
}

async function consistentPage(shards: Shard[], query: ListQuery): Promise<ListResult> {
  const pages = await readPages(shards, query);
  if (!Array.isArray(pages)) return pages;
  for (let round = 0; round < MAX_CONSISTENCY_ROUNDS; round++) {
    const top = Math.max(...pages.map((page) => page.index));
    const lagging = pages.flatMap((page, i) => (page.index < top ? [i] : []));
    if (lagging.length === 0) return assemble(pages, top, query);
    const raised = await Promise.all(lagging.map((i) => (shards[i] as Shard).raise(top, (pages[i] as ListPage).index)));
    const moved = lagging.filter((i, j) => {
      if (raised[j]?.moved) return true;
      // Nothing recorded there since the read: its rows are the shard's state at `top` too.
      (pages[i] as ListPage).index = top;
      return false;
    });
    if (moved.length === 0) return assemble(pages, top, query);
    const again = await readPages(
      moved.map((i) => shards[i] as Shard),
      query,
    );
    if (!Array.isArray(again)) return again;
    moved.forEach((i, j) => {
      pages[i] = again[j] as ListPage;
    });
  }
  // Still churning: the lowest shard index is safe (every change not in the page is above it); a
  // client blocking on it is answered at once and reads again.
  return assemble(pages, Math.min(...pages.map((page) => page.index)), query);
}

/** The shards' pages one after the other (shard order is id order), cut at `perPage` (0: all, negative: none). */
function assemble(pages: ListPage[], index: number, query: ListQuery): ListPage {
  const limit = query.perPage === 0 ? Number.MAX_SAFE_INTEGER : Math.max(query.perPage, 0);
  const items: ListItem[] = [];
  let nextToken: string | null = null;
  outer: for (const page of pages) {
    for (const item of page.items ?? []) {
      if (items.length === limit) {
        nextToken = item.id;
        break outer;
      }
      items.push(item);
    }
    if (page.nextToken !== null && items.length === limit) {
      nextToken = page.nextToken;
      break;
    }
  }
  const compact = `[${items.map((item) => item.body).join(",")}]`;
  const body = query.pretty ? encodeJson(parseJson(compact, { maxDepth: 256 }), true) : compact;
  return { ok: true, index, body, nextToken };
}

/**
 * The shards an event stream reads: all of them (a key may be a job or deployment ID, whose
 * allocations are in any shard), or one when no key can match (only heartbeats then).
 */
function streamShards(query: StreamQuery, shards: number): number[] {
  if (query.keys !== null && query.keys.length === 0) return [0];
  return Array.from({ length: shards }, (_, k) => k);
}

/** The namespaces of the region's allocations over its shards (and `default`), sorted. */
export async function regionNamespaces(env: Env, cfg: Config, region: string): Promise<string[]> {
  const shards = Array.from({ length: cfg.catalogShards }, (_, k) => catalogStub(env, cfg, region, k));
  const names = await Promise.all(shards.map((shard) => shard.namespaceNames()));
  return [...new Set(names.flat())].sort();
}

/** Opens the region's event stream over its shards; refusals (410) come from the shard that refused. */
export async function openRegionStream(
  env: Env,
  cfg: Config,
  region: string,
  query: StreamQuery,
  signal: AbortSignal,
): Promise<{ ok: true; stream: ReadableStream<Uint8Array>; merged: boolean } | Refusal> {
  const shards = streamShards(query, cfg.catalogShards).map((k) => catalogStub(env, cfg, region, k));
  if (shards.length === 1) {
    const opened = await (shards[0] as Shard).openStream(query, signal);
    return opened.ok ? { ok: true, stream: opened.stream as ReadableStream<Uint8Array>, merged: false } : opened;
  }
  const opened = await Promise.all(shards.map((shard) => shard.openStream({ ...query, watermarks: true }, signal)));
  const refusal = opened.find((result) => !result.ok);
  if (refusal && !refusal.ok) {
    for (const result of opened) if (result.ok) await (result.stream as ReadableStream<Uint8Array>).cancel();
    return refusal;
  }
  const streams = opened.map((result) => (result.ok ? (result.stream as ReadableStream<Uint8Array>) : new ReadableStream()));
  return {
    ok: true,
    stream: mergeShardStreams(streams, (i, index, seen) => (shards[i] as Shard).raise(index, seen), query.heartbeatMs),
    merged: true,
  };
}

interface Feed {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  decoder: TextDecoder;
  partial: string;
  /** Event lines received and not yet sent, in index order. */
  queue: Array<{ index: number; line: string }>;
  /** Every event of the shard up to this index has been received. */
  mark: number;
  reading?: Promise<void>;
  raising?: Promise<void>;
  raisedTo: number;
  done: boolean;
}

const LINE_INDEX = /"Index":(\d+)\}$/;
const encoder = new TextEncoder();

function mergeShardStreams(
  streams: ReadableStream<Uint8Array>[],
  raise: (shard: number, index: number, seen: number) => Promise<unknown>,
  heartbeatMs: number,
): ReadableStream<Uint8Array> {
  const feeds: Feed[] = streams.map((stream) => ({
    reader: stream.getReader(),
    decoder: new TextDecoder(),
    partial: "",
    queue: [],
    mark: -1,
    raisedTo: -1,
    done: false,
  }));
  // Nomad's JSON stream: a heartbeat at once, then one per tick.
  let greeted = false;
  let nextBeat = Date.now() + heartbeatMs;

  const take = (feed: Feed, text: string) => {
    feed.partial += text;
    let newline = feed.partial.indexOf("\n");
    while (newline >= 0) {
      const line = feed.partial.slice(0, newline);
      feed.partial = feed.partial.slice(newline + 1);
      newline = feed.partial.indexOf("\n");
      const digits = LINE_INDEX.exec(line)?.[1];
      if (digits === undefined) continue; // a shard's heartbeat: the merged stream sends its own
      const index = issuedIndex(digits);
      if (!line.startsWith('{"Index":')) feed.queue.push({ index, line });
      feed.mark = Math.max(feed.mark, index);
    }
  };
  const fill = (feed: Feed) => {
    if (feed.done || feed.reading || feed.queue.length >= MAX_QUEUED_PER_SHARD) return;
    feed.reading = feed.reader.read().then(({ done, value }) => {
      feed.reading = undefined;
      if (done) feed.done = true;
      else take(feed, feed.decoder.decode(value, { stream: true }));
    });
  };
  /** Every queued event at or below every shard's watermark, in index order. */
  const ready = (): string[] => {
    const floor = Math.min(...feeds.map((feed) => feed.mark));
    const out: string[] = [];
    for (;;) {
      let next: Feed | undefined;
      for (const feed of feeds) {
        const head = feed.queue[0];
        if (head && head.index <= floor && (!next || head.index < (next.queue[0]?.index ?? 0))) next = feed;
      }
      const item = next?.queue.shift();
      if (!item) return out;
      out.push(`${item.line}\n`);
    }
  };
  /** Raises every shard whose watermark holds back a queued event. */
  const raiseLagging = () => {
    const wanted = Math.max(-1, ...feeds.flatMap((feed) => feed.queue.map((item) => item.index)));
    feeds.forEach((feed, i) => {
      if (feed.mark >= wanted || feed.raisedTo >= wanted || feed.raising) return;
      feed.raisedTo = wanted;
      feed.raising = raise(i, wanted, feed.mark).then(
        () => {
          feed.raising = undefined;
        },
        () => {
          feed.raising = undefined;
          feed.raisedTo = -1;
        },
      );
    });
  };
  const cancelAll = async (reason?: unknown) => {
    await Promise.all(feeds.map((feed) => feed.reader.cancel(reason).catch(() => undefined)));
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!greeted || Date.now() >= nextBeat) {
          if (greeted) nextBeat = Math.max(nextBeat + heartbeatMs, Date.now());
          greeted = true;
          controller.enqueue(encoder.encode("{}\n"));
          return;
        }
        for (;;) {
          const out = ready();
          if (out.length > 0) {
            controller.enqueue(encoder.encode(out.join("")));
            return;
          }
          if (feeds.some((feed) => feed.done)) {
            await cancelAll();
            controller.close();
            return;
          }
          raiseLagging();
          for (const feed of feeds) fill(feed);
          let timer: ReturnType<typeof setTimeout> | undefined;
          const idle = new Promise<"idle">((resolve) => {
            timer = setTimeout(() => resolve("idle"), Math.max(0, nextBeat - Date.now()));
          });
          const moved = feeds.flatMap((feed) => [feed.reading, feed.raising].filter((p): p is Promise<void> => p !== undefined));
          const why = await Promise.race([idle, ...moved]);
          if (timer !== undefined) clearTimeout(timer);
          if (why === "idle") {
            nextBeat = Math.max(nextBeat + heartbeatMs, Date.now());
            controller.enqueue(encoder.encode("{}\n"));
            return;
          }
        }
      },
      cancel: cancelAll,
    },
    { highWaterMark: STREAM_BUFFER_CHUNKS },
  );
}
