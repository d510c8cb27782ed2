/**
 * The Worker's side of a batch's catalog delivery: the changes its allocation objects committed
 * and answered (carried) go to their catalog shard together, a few dozen per RPC, instead of one
 * RPC from each object. A change the shard cannot record yet (an earlier change of its allocation
 * is still queued in the object) and every change of an RPC that failed are left to their object,
 * which delivers its outbox in order; `finish` resolves once every change is recorded or so
 * delivered (or, failing that too, durable in its outbox with an alarm to retry), so a list read
 * after the batch's answer reflects it, as after a single write.
 */
import type { Config } from "../config.ts";
import { shardOfAlloc } from "../domain/catalog-shard.ts";
import type { CatalogChange } from "./contract.ts";
import { allocationStub, catalogStub } from "./stub.ts";

/** Changes per RPC, and about this many characters of them (well within an RPC's message limit). */
const CARRY_MAX_CHANGES = 32;
const CARRY_MAX_CHARS = 4 * 1024 * 1024;

interface Queued {
  uuid: string;
  change: CatalogChange;
}

function charsOf(change: CatalogChange): number {
  const entry = change.entry;
  return change.allocation.length + (entry ? entry.eventBefore.length + entry.eventAfter.length + (entry.stub?.length ?? 0) : 0);
}

export class CatalogCarrier {
  readonly #env: Env;
  readonly #cfg: Config;
  readonly #region: string;
  /** Per shard: the changes not yet sent and their characters. */
  readonly #queued = new Map<number, { changes: Queued[]; chars: number }>();
  readonly #sent: Promise<void>[] = [];

  constructor(env: Env, cfg: Config, region: string) {
    this.#env = env;
    this.#cfg = cfg;
    this.#region = region;
  }

  /** Queues allocation `uuid`'s carried change; a shard's queue goes out once it is full. */
  add(uuid: string, change: CatalogChange): void {
    const shard = shardOfAlloc(uuid, this.#cfg.catalogShards);
    const queue = this.#queued.get(shard) ?? { changes: [], chars: 0 };
    this.#queued.set(shard, queue);
    queue.changes.push({ uuid, change });
    queue.chars += charsOf(change);
    if (queue.changes.length >= CARRY_MAX_CHANGES || queue.chars >= CARRY_MAX_CHARS) this.#send(shard);
  }

  /** Sends what is queued and waits until every change added is recorded or left with its object. */
  async finish(): Promise<void> {
    for (const shard of [...this.#queued.keys()]) this.#send(shard);
    await Promise.all(this.#sent);
  }

  #send(shard: number): void {
    const queue = this.#queued.get(shard);
    this.#queued.delete(shard);
    if (!queue || queue.changes.length === 0) return;
    const { changes } = queue;
    const stub = catalogStub(this.#env, this.#cfg, this.#region, shard);
    this.#sent.push(
      stub.recordCarried(changes.map((queued) => queued.change)).then(
        (recorded) => this.#leaveToObjects(changes.filter((_, i) => !recorded[i])),
        (error: unknown) => {
          console.warn("carried catalog delivery failed; each object delivers its own", error);
          return this.#leaveToObjects(changes);
        },
      ),
    );
  }

  /** Each allocation delivers its outbox itself (in order); one that cannot keeps it queued, with its alarm to retry. */
  async #leaveToObjects(changes: Queued[]): Promise<void> {
    const uuids = [...new Set(changes.map((queued) => queued.uuid))];
    await Promise.all(
      uuids.map((uuid) =>
        allocationStub(this.#env, this.#cfg, this.#region, uuid)
          .deliverOutbox()
          .catch((error: unknown) => console.warn("an allocation's own catalog delivery failed; its alarm retries", error)),
      ),
    );
  }
}
