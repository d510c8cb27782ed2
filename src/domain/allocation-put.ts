/**
 * What a create-or-replace makes of the allocation it is given (pure): the server-owned fields
 * take the write's index, with `CreateIndex` and `CreateTime` carried over from the current
 * state, and the task states kept when the writer omitted them.
 */
import { JsonNumber, type JsonObject } from "../json/codec.ts";

interface PutStamp {
  /** The allocation's canonical id (the body's must match it; the stored one is this). */
  id: string;
  index: number;
  /** Keep the current `TaskStates` (the body had none). */
  keepTaskStates: boolean;
  /** Unix nanoseconds now. */
  now: () => bigint;
}

/** Sets the server-owned fields of `next` (changed in place); `current` is only read. */
export function stampPut(next: JsonObject, current: JsonObject | null, stamp: PutStamp): void {
  const { index, now } = stamp;
  if (stamp.keepTaskStates) next.TaskStates = current?.TaskStates ?? null;
  next.ID = stamp.id;
  next.CreateIndex = current?.CreateIndex ?? JsonNumber.of(index);
  next.ModifyIndex = JsonNumber.of(index);
  next.AllocModifyIndex = JsonNumber.of(index);
  const createTime = next.CreateTime instanceof JsonNumber ? next.CreateTime.toBigInt() : 0n;
  if (createTime === 0n) next.CreateTime = current?.CreateTime ?? JsonNumber.of(now());
  // The writer's own time (a mirrored cluster's) is kept; else the time of this write.
  const modifyTime = next.ModifyTime instanceof JsonNumber ? next.ModifyTime.toBigInt() : 0n;
  if (modifyTime === 0n) next.ModifyTime = JsonNumber.of(now());
}
