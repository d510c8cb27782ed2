/**
 * Worker entry: the router serves every request; the allocation Durable Object class is exported
 * for the runtime. Run locally with `npm start`; regenerate `Env` with `npm run types`.
 */
import { router } from "./router.ts";

export { AllocationObject } from "./durable/allocation-object.ts";
export { RegionCatalog } from "./durable/region-catalog.ts";

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
