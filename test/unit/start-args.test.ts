import { describe, expect, it } from "vitest";
import { devDefaults, localUrl, parseStartArguments } from "../../scripts/start-args.ts";
import wranglerToml from "../../wrangler.toml?raw";

const DEFAULTS = { ip: "127.0.0.1", port: 8787 };

describe("parseStartArguments", () => {
  it("takes the management token's --var and the public address out and keeps every other argument in order", () => {
    const parsed = parseStartArguments(
      ["--port", "9000", "--var", "MANAGEMENT_TOKEN:s3cr:et", "--var", "EVENT_HISTORY:5", "--log-level", "warn"],
      DEFAULTS,
    );
    expect(parsed).toEqual({
      wranglerArgs: ["--var", "EVENT_HISTORY:5", "--log-level", "warn"],
      token: "s3cr:et",
      ip: "127.0.0.1",
      port: 9000,
    });
  });

  it("reads --flag=value forms", () => {
    const parsed = parseStartArguments(["--var=MANAGEMENT_TOKEN:t", "--port=9001", "--ip=0.0.0.0"], DEFAULTS);
    expect(parsed).toEqual({ wranglerArgs: [], token: "t", ip: "0.0.0.0", port: 9001 });
  });

  it("falls back to the defaults and no token", () => {
    expect(parseStartArguments(["--persist-to", "/tmp/x"], DEFAULTS)).toEqual({
      wranglerArgs: ["--persist-to", "/tmp/x"],
      token: undefined,
      ...DEFAULTS,
    });
  });

  it.each(["0", "65536", "abc", "80.5"])("rejects --port %s", (port) => {
    expect(() => parseStartArguments(["--port", port], DEFAULTS)).toThrow(`--port ${port}: not a port number`);
  });
});

describe("devDefaults", () => {
  it("reads wrangler.toml's [dev] section", () => {
    expect(devDefaults(wranglerToml)).toEqual({ ip: "127.0.0.1", port: 8787 });
  });

  it("uses wrangler's own defaults without a [dev] section, and ignores other sections' keys", () => {
    expect(devDefaults('name = "x"\n[other]\nport = 1\n')).toEqual({ ip: "localhost", port: 8787 });
    expect(devDefaults('[dev]\nport = 9100\n\n[other]\nip = "10.0.0.1"\n')).toEqual({ ip: "localhost", port: 9100 });
  });
});

describe("localUrl", () => {
  it.each([
    ["127.0.0.1", "http://127.0.0.1:1"],
    ["0.0.0.0", "http://127.0.0.1:1"],
    ["::", "http://[::1]:1"],
    ["::1", "http://[::1]:1"],
    ["localhost", "http://localhost:1"],
  ])("%s → %s", (ip, url) => expect(localUrl(ip, 1)).toBe(url));
});
