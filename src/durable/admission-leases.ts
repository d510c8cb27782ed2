/**
 * The Worker isolate's admission leases, one per catalog shard (tombstone-retention.ts): a put
 * that may create its allocation carries its shard's lease, so the new allocation's object does
 * not ask the shard for its own admission, an RPC whose answer waits behind the shard's pending
 * group commit. The leases outlive a request: every batch and every single write of this isolate
 * shares them until they are spent, and a spent one is asked again.
 *
 * Batches always carry a lease. A single write carries one only when its isolate writes to the
 * shard concurrently (another single write to it in flight) or still holds a usable lease: an
 * occasional write asks nothing more than before (the object asks its admission only if it
 * creates), and the shard then holds off no collection for it.
 */
import type { Config } from "../config.ts";
import { shardOfAlloc } from "../domain/catalog-shard.ts";
import type { AdmissionLease } from "./contract.ts";
import { catalogStub } from "./stub.ts";
import { leaseUsable } from "./tombstone-retention.ts";

/**
 * How long a shard's refusal (its grants are paused for a refused collection) or failure to answer
 * stands before it is asked again; meanwhile each create asks its own admission.
 */
const NO_LEASE_MS = 5_000;

/**
 * A write never awaits the promise of a question another request asked, nor uses the RPC's answer
 * object: the runtime ties both to the request that made them (it answered such writes 500
 * "Cannot perform I/O on behalf of a different request" under load, and it cancels their
 * continuations once that request is gone). It looks at the question's plain answer every
 * ANSWER_POLL_MS instead, for at most SHARED_WAIT_MS, and then asks its own.
 */
const ANSWER_POLL_MS = 2;
const SHARED_WAIT_MS = 2_000;

/** A question to a shard, shared by the isolate's writes through its plain answer only. */
interface Asked {
  /** Wall-clock ms of the question, for how long a null answer stands. */
  at: number;
  /** The answer once it came (undefined while pending): a plain copy of the RPC's. */
  answer?: AdmissionLease | null;
}

export class AdmissionLeases {
  /** Per shard (region, shard and shard count): the last lease asked. */
  readonly #asked = new Map<string, Asked>();
  /** Per shard: this isolate's single writes in flight. */
  readonly #singles = new Map<string, number>();

  /**
   * The usable lease of allocation `uuid`'s shard, asked now unless one is held; undefined when
   * the shard granted none (the creates ask their own admission).
   */
  async lease(env: Env, cfg: Config, region: string, uuid: string): Promise<AdmissionLease | undefined> {
    return this.#usable(env, cfg, region, shardOfAlloc(uuid, cfg.catalogShards));
  }

  /**
   * Runs a single write to allocation `uuid` with its shard's lease when this isolate holds a
   * usable one (or is asking one) or has another single write to the shard in flight; else with none.
   */
  async forSingle<T>(env: Env, cfg: Config, region: string, uuid: string, write: (lease?: AdmissionLease) => Promise<T>): Promise<T> {
    const shard = shardOfAlloc(uuid, cfg.catalogShards);
    const key = shardKey(region, shard, cfg);
    const inFlight = (this.#singles.get(key) ?? 0) + 1;
    this.#singles.set(key, inFlight);
    try {
      const held = this.#asked.get(key);
      const holding = held !== undefined && (held.answer === undefined || (held.answer !== null && leaseUsable(held.answer, Date.now())));
      return await write(inFlight > 1 || holding ? await this.#usable(env, cfg, region, shard) : undefined);
    } finally {
      const left = (this.#singles.get(key) ?? 1) - 1;
      if (left === 0) this.#singles.delete(key);
      else this.#singles.set(key, left);
    }
  }

  async #usable(env: Env, cfg: Config, region: string, shard: number): Promise<AdmissionLease | undefined> {
    const key = shardKey(region, shard, cfg);
    let asked = this.#asked.get(key);
    if (asked?.answer !== undefined && !standing(asked, Date.now())) {
      // Spent, or a refusal that no longer stands: ask again.
      this.#asked.delete(key);
      asked = undefined;
    }
    let lease: AdmissionLease | null | typeof STILL_PENDING;
    if (asked === undefined) {
      lease = await this.#ask(key, env, cfg, region, shard);
    } else {
      lease = await answerWithin(asked, SHARED_WAIT_MS);
      // Asked by another request that has not had its answer yet: ask in this one instead.
      if (lease === STILL_PENDING) lease = await this.#ask(key, env, cfg, region, shard);
    }
    return lease !== null && leaseUsable(lease, Date.now()) ? lease : undefined;
  }

  /** Asks the shard for a lease, as the question every write of this isolate shares until it is spent. */
  #ask(key: string, env: Env, cfg: Config, region: string, shard: number): Promise<AdmissionLease | null> {
    const question: Asked = { at: Date.now() };
    this.#asked.set(key, question);
    return catalogStub(env, cfg, region, shard)
      .admissionLease()
      .catch((error: unknown) => {
        console.warn("no admission lease; each new allocation asks its own admission", error);
        return null;
      })
      .then((answer) => {
        question.answer =
          answer === null
            ? null
            : { index: answer.index, collected: answer.collected, until: answer.until, usableUntil: answer.usableUntil };
        return question.answer;
      });
  }
}

const STILL_PENDING = Symbol("still pending");

/** The question's answer, or STILL_PENDING if it has none within `ms` (an answered one at once). */
async function answerWithin(asked: Asked, ms: number): Promise<AdmissionLease | null | typeof STILL_PENDING> {
  const end = Date.now() + ms;
  while (asked.answer === undefined) {
    if (Date.now() >= end) return STILL_PENDING;
    await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL_MS));
  }
  return asked.answer;
}

function shardKey(region: string, shard: number, cfg: Config): string {
  return `${region}\u0000${shard}/${cfg.catalogShards}`;
}

/** Whether an answered question still serves: a usable lease, or a refusal younger than NO_LEASE_MS. */
function standing(asked: Asked, now: number): boolean {
  return asked.answer ? leaseUsable(asked.answer, now) : now - asked.at < NO_LEASE_MS;
}

/** This isolate's leases (module state: shared by every request the isolate serves). */
export const ADMISSION_LEASES = new AdmissionLeases();
