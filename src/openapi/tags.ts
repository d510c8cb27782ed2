/** The document's tags: one per resource, in the order the reference shows them. */
import type { TagObject } from "openapi3-ts/oas31";

export const TAG = {
  allocations: "Allocations",
  list: "Allocation list",
  events: "Events",
  logs: "Task logs",
  status: "Status",
  acl: "ACL",
  batch: "Batched ingest",
  docs: "Documentation",
} as const;

export const TAGS: TagObject[] = [
  { name: TAG.allocations, description: "Read allocations (with blocking queries) and the writes a Nomad agent makes to them." },
  { name: TAG.list, description: "All allocations of a region, with prefix search, pagination and blocking queries." },
  { name: TAG.events, description: "The region's allocation changes as a resumable stream (Nomad's event stream)." },
  { name: TAG.logs, description: "Task logs as Nomad's client serves them, and the ingest agents write them with." },
  { name: TAG.status, description: "Leader, peers, regions and agent information: what Nomad clients ask first." },
  {
    name: TAG.acl,
    description:
      "Nomad's ACL policies and tokens. Every endpoint here needs a management token (the `MANAGEMENT_TOKEN` secret, or a token of type `management`), except reading one's own token.",
  },
  { name: TAG.batch, description: "Many allocation changes in one request, for bridges and bulk loads." },
  { name: TAG.docs, description: "This document, its interactive reference and the live status pages." },
];
