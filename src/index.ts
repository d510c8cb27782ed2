/**
 * Worker entry: the gate, then the router, serves every request; the three Durable Object classes
 * (AllocationObject, RegionCatalog, AclStore) are exported for the runtime. Run locally with `npm start`; regenerate `Env` with `npm run types`.
 */
import { errorResponse } from "./http/reply.ts";
import { callerKey, checkRateLimit, checkSizes, gateConfig, preflight, withCors, withVary } from "./pipeline/gate.ts";
import { router } from "./router.ts";

export { AclStore } from "./durable/acl-store.ts";
export { AllocationObject } from "./durable/allocation-object.ts";
export { RegionCatalog } from "./durable/region-catalog.ts";

async function serve(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const gate = gateConfig(env);
  let response: Response;
  try {
    checkSizes(request, gate);
    const cors = preflight(request, gate);
    if (cors) response = cors;
    else {
      await checkRateLimit(env.RATE_LIMITER, await callerKey(request));
      response = await router.fetch(request, env, ctx);
    }
  } catch (error) {
    response = errorResponse(error);
  }
  return withCors(request, withVary(response), gate);
}

export default { fetch: serve } satisfies ExportedHandler<Env>;
