/**
 * `npm start`'s command line, read without side effects: the public address (`--ip`, `--port`, else
 * wrangler.toml's `[dev]`), where npm start's front listens (scripts/front.ts) while `wrangler dev`
 * listens on an internal loopback port, and the management token if one was chosen with
 * `--var MANAGEMENT_TOKEN:<secret>`. Both are taken out of the arguments: the address is the front's,
 * and the token goes to wrangler as a secret in its environment instead (see start.ts).
 */

interface DevDefaults {
  ip: string;
  port: number;
}

interface StartArguments {
  /** The arguments for `wrangler dev`, without the management token's `--var`, `--ip` and `--port`. */
  wranglerArgs: string[];
  /** The token given with `--var MANAGEMENT_TOKEN:…`, if any. */
  token: string | undefined;
  /** The public address (`--ip`/`--port`, else wrangler.toml's `[dev]`). */
  ip: string;
  port: number;
}

const TOKEN_PREFIX = "MANAGEMENT_TOKEN:";

export function parseStartArguments(args: readonly string[], defaults: DevDefaults): StartArguments {
  const wranglerArgs: string[] = [];
  let token: string | undefined;
  let ip = defaults.ip;
  let port = defaults.port;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    // `--flag value` or `--flag=value`
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = equals > 0 ? arg.slice(0, equals) : arg;
    const inline = equals > 0 ? arg.slice(equals + 1) : undefined;
    const value = inline ?? args[i + 1];
    if (flag === "--var" && value?.startsWith(TOKEN_PREFIX)) {
      token = value.slice(TOKEN_PREFIX.length);
      if (inline === undefined) i++;
      continue;
    }
    if (flag === "--port" && value !== undefined) {
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new Error(`--port ${value}: not a port number (1-65535)`);
      port = parsed;
      if (inline === undefined) i++;
      continue;
    }
    if (flag === "--ip" && value !== undefined) {
      ip = value;
      if (inline === undefined) i++;
      continue;
    }
    wranglerArgs.push(arg);
  }
  return { wranglerArgs, token, ip, port };
}

/** wrangler.toml's `[dev]` ip and port (the values wrangler uses without `--ip`/`--port`). */
export function devDefaults(wranglerToml: string): DevDefaults {
  const section = /^\[dev\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(wranglerToml)?.[1] ?? "";
  const ip = /^ip\s*=\s*"([^"]*)"/m.exec(section)?.[1] ?? "localhost";
  const port = Number(/^port\s*=\s*(\d+)/m.exec(section)?.[1] ?? 8787);
  return { ip, port };
}

/** The URL a client on this machine uses for a server listening on `ip:port`. */
export function localUrl(ip: string, port: number): string {
  const host = ip === "0.0.0.0" || ip === "*" ? "127.0.0.1" : ip === "::" ? "[::1]" : ip.includes(":") ? `[${ip}]` : ip;
  return `http://${host}:${port}`;
}
