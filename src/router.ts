/**
 * The router, built from the endpoint table (src/endpoints/index.ts): each declared operation is
 * routed through the pipeline (`serve`: its caller checked, then its handler), each path's other
 * methods get its declared answer, and a catch-all handles what no route matches. Handlers return
 * a reply or throw; `errorResponse` writes every error.
 */
import { Router } from "itty-router";
import { ENDPOINTS } from "./endpoints/index.ts";
import { CodedError, ErrorText } from "./errors.ts";
import { errorResponse, redirect } from "./http/reply.ts";
import { type Endpoint, type RoutedRequest, routePattern, serve } from "./pipeline/endpoint.ts";

function buildRouter(endpoints: readonly Endpoint[]) {
  const router = Router<RoutedRequest, [Env, ExecutionContext]>({ catch: errorResponse });
  for (const endpoint of endpoints) {
    const pattern = routePattern(endpoint.path);
    for (const operation of endpoint.operations) router[operation.method](pattern, serve(operation));
    if (endpoint.otherMethods) router.all(pattern, endpoint.otherMethods);
  }
  const subtrees = endpoints.flatMap((endpoint) =>
    endpoint.subtree ? [{ ...endpoint.subtree, methods: endpoint.operations.map((op) => op.method.toUpperCase()), endpoint }] : [],
  );
  return router.all("*", (request) => {
    const { pathname } = new URL(request.url);
    // Empty ids and extra path segments: Nomad takes the whole rest of the path as the id.
    for (const { prefix, unmatched, redirectRoot, methods, endpoint } of subtrees) {
      if (redirectRoot && `${pathname}/` === prefix) return redirect(prefix, 301);
      if (!pathname.startsWith(prefix)) continue;
      if (!methods.includes(request.method)) endpoint.otherMethods?.();
      unmatched(request, pathname.slice(prefix.length));
    }
    throw new CodedError(404, ErrorText.pageNotFound);
  });
}

export const router = buildRouter(ENDPOINTS);
