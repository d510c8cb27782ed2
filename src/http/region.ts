import type { Config } from "../config.ts";
import { CodedError, ErrorText } from "../errors.ts";

/**
 * `?region=`: a configured region name (exact, case-sensitive); absent or empty means the default.
 * Anything else is 400 `No path to region` (Nomad answers 500; documented deviation).
 */
export function parseRegion(params: URLSearchParams, cfg: Config): string {
  const region = params.get("region") || cfg.defaultRegion;
  if (!cfg.regions.has(region)) throw new CodedError(400, ErrorText.noRegionPath);
  return region;
}
