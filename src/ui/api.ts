/**
 * The pages' one door to the API: an openapi-fetch client typed by `openapi/openapi.d.ts`, and the
 * ACL token (kept in this tab's sessionStorage only, sent as `X-Nomad-Token`).
 */
import createClient from "openapi-fetch";
import type { paths } from "../../openapi/openapi.d.ts";

const TOKEN_KEY = "nomad-token";

export function storedToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return ""; // storage disabled: anonymous reads only
  }
}

export function storeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: nothing to keep the token in
  }
}

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    const token = storedToken();
    if (token) request.headers.set("X-Nomad-Token", token);
    return request;
  },
});
