/**
 * Nomad's event buffer as the stand-in keeps it (hashicorp/nomad nomad/stream/event_buffer.go and
 * event_broker.go at aa026cc99c):
 * - a fixed number of Raft indexes, `event_buffer_size`, default 100 (event_broker.go
 *   `NewEventBroker`: "Set the event buffer size to a minimum ... = 100"); the oldest item is dropped
 *   when one more is appended (event_buffer.go `appendItem` → `advanceHead`);
 * - one item per Raft index holding every event of that index (`bufferItem.Events`), any topic;
 * - `Subscribe` with `index` 0 starts at the head (the whole buffer); otherwise `StartAtClosest`:
 *   an index below the head starts at the head, silently (only a debug log and a gauge), an index in
 *   the buffer starts at that item (included), an index in a hole starts at the next item, and an
 *   index past the tail starts at the tail, re-sending the newest item;
 * - in memory only: a new broker (server restart, or a leadership change that rebuilds the state
 *   store) starts empty.
 */

export interface StandInEvent {
  Topic: string;
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys: string[] | null;
  Index: bigint;
  /** Encoded JSON of the payload (e.g. `{"Allocation":{…}}`). */
  Payload: string;
}

interface BufferItem {
  index: bigint;
  events: StandInEvent[];
  seq: number;
}

const DEFAULT_EVENT_BUFFER_SIZE = 100;

export class EventBuffer {
  readonly #size: number;
  #items: BufferItem[] = [];
  #nextSeq = 0;

  constructor(size = DEFAULT_EVENT_BUFFER_SIZE) {
    this.#size = size;
  }

  append(index: bigint, events: StandInEvent[]): BufferItem {
    const item = { index, events, seq: this.#nextSeq++ };
    this.#items.push(item);
    if (this.#items.length > this.#size) this.#items.shift();
    return item;
  }

  /** The sequence number a subscription for `index` starts at (`StartAtClosest`). */
  startAt(index: bigint): number {
    const head = this.#items[0];
    if (!head) return this.#nextSeq;
    if (index === 0n || index <= head.index) return head.seq;
    for (const item of this.#items) if (item.index >= index) return item.seq;
    // Past the end: the tail again (event_buffer.go returns `prev`, the last item).
    return (this.#items.at(-1) as BufferItem).seq;
  }

  /** Items from sequence number `seq` on. */
  from(seq: number): BufferItem[] {
    return this.#items.filter((item) => item.seq >= seq);
  }

  get length(): number {
    return this.#items.length;
  }

  get oldestIndex(): bigint | undefined {
    return this.#items[0]?.index;
  }

  clear(): void {
    this.#items = [];
  }
}
