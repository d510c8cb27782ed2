/**
 * The shape every endpoint is declared in (src/endpoints/*), and the running of one operation.
 * A declaration carries everything about an operation once: its path and method, who may call it,
 * its handler and its OpenAPI description; the router (src/router.ts) and the document
 * (src/openapi/document.ts) are both built from the same list.
 */
import type { OperationObject } from "openapi3-ts/oas31";
import type { Access } from "./access.ts";
import { authorize, type Caller, resolveCaller } from "./caller.ts";

type Method = "get" | "put" | "post" | "delete";

/** The routed request: itty fills `params` from the route pattern. */
export interface RoutedRequest extends Request {
  params: Record<string, string | undefined>;
}

interface RequestContext {
  env: Env;
  /**
   * The caller, checked against the operation's declared need (resolved once per request). The
   * pipeline calls it before the handler unless the operation checks `afterParameters`.
   */
  caller(): Promise<Caller>;
}

export type Handler = (request: RoutedRequest, context: RequestContext) => Response | Promise<Response>;

/** The OpenAPI operation as declared; `security` and the ACL note come from `access`. */
export type OperationDoc = Omit<OperationObject, "security" | "operationId" | "summary"> & { operationId: string; summary: string };

export interface Operation {
  method: Method;
  access: Access;
  /**
   * Nomad parses some parameters before it looks at the caller (the list, logs, the event
   * stream): those handlers call `context.caller()` themselves, after them. Any other operation's
   * caller is checked before its handler runs.
   */
  afterParameters?: true;
  handler: Handler;
  doc: OperationDoc;
}

export interface Endpoint {
  /** The path in OpenAPI form (`/v1/allocation/{alloc_id}`); the router's pattern has `:alloc_id`. */
  path: string;
  summary?: string;
  description?: string;
  /** Declared methods, in the document's order. */
  operations: readonly Operation[];
  /** Throws what any other method on the path answers; without it, the catch-all's 404. */
  otherMethods?: () => never;
  /**
   * A path that ends in an allocation id takes, as Nomad does, the whole rest of the path as the
   * id: a request under `prefix` that no route matched (an empty id, extra segments) is checked
   * by `unmatched` (which throws the id's error), else answered 404. Its methods are the
   * endpoint's own. With `redirectRoot`, the prefix without its slash is redirected (301) to it,
   * as Go's ServeMux does for a subtree it serves.
   */
  subtree?: { prefix: string; unmatched: (request: Request, rest: string) => void; redirectRoot?: true };
}

/** The router's pattern of an OpenAPI path. */
export function routePattern(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, ":$1");
}

/**
 * Runs one operation: checks the caller against its declared need (before the handler, or where
 * the handler asks), then the handler. An operation that answers without having checked its
 * caller is a bug in its declaration, refused rather than served.
 */
export function serve(operation: Operation) {
  const { access } = operation;
  return async (request: RoutedRequest, env: Env): Promise<Response> => {
    let checked: Promise<Caller> | undefined;
    const check = (): Promise<Caller> => {
      if (access.need === "public") throw new Error(`${operation.doc.operationId} is public: it has no caller`);
      checked ??= access.need === "caller" ? resolveCaller(request, env) : authorize(request, env, access.need);
      return checked;
    };
    if (access.need !== "public" && !operation.afterParameters) await check();
    const response = await operation.handler(request, { env, caller: check });
    if (access.need !== "public" && checked === undefined) {
      throw new Error(`${operation.doc.operationId} answered without checking its caller`);
    }
    return response;
  };
}
