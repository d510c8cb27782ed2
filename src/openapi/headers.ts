/** Every response header component of the OpenAPI document, by name. */
import type { HeaderObject } from "openapi3-ts/oas31";

export const HEADERS: Record<string, HeaderObject> = {
  XNomadIndex: {
    description:
      "The index of the allocation (its `ModifyIndex`), or of its storage when it does not exist. Never 0. Send it back as `?index=` to block until it changes.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 1 },
  },
  XNomadKnownLeader: {
    description: "Whether the answering server knows a cluster leader. Always `true` here: each allocation is its own leader.",
    required: true,
    schema: { type: "string", enum: ["true", "false"] },
  },
  XNomadLastContact: {
    description: "Milliseconds since the answering server last heard from the leader. Always `0` here.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 0 },
  },
  XNomadWriteIndex: {
    description: "The index of the change made by the write; also the `Index` of the body.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 1 },
  },
  XLogOffset: {
    description: "The total number of bytes ever appended to the log stream (after this append, when it was applied).",
    required: true,
    schema: { type: "integer", minimum: 0 },
  },
  XNomadNextToken: {
    description: "Present when a page was cut by `per_page`: pass it as `next_token` for the next page.",
    required: false,
    schema: { type: "string" },
  },
};
