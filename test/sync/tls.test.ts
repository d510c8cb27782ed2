/**
 * Nomad over mTLS: the bridge reads NOMAD_CACERT, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY as Nomad's
 * CLI does, against a stand-in that requires a client certificate (certificates made by openssl).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { runOnce } from "./bridge.ts";
import { edgeIds } from "./edge-reader.ts";

/** openssl makes the certificates; a machine without it skips this file (and says so). */
const HAS_OPENSSL = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const dir = mkdtempSync(join(tmpdir(), "nomad-sync-tls-"));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

function makeCertificates(): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
  );
  for (const [name, extra] of [
    ["server", "subjectAltName=IP:127.0.0.1"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      file(`${name}.pem`),
      "-extfile",
      writeExt(name, extra),
    );
  }
}

function writeExt(name: string, line: string): string {
  const path = file(`${name}.ext`);
  execFileSync("sh", ["-c", `printf '%s\\n' "$1" > "$2"`, "sh", line, path]);
  return path;
}

let edge: DevServer;
let nomad: NomadStandIn;

beforeAll(async () => {
  if (!HAS_OPENSSL) return;
  makeCertificates();
  nomad = new NomadStandIn({
    tls: { key: readFileSync(file("server.key")), cert: readFileSync(file("server.pem")), ca: readFileSync(file("ca.pem")) },
  });
  await nomad.start();
  edge = await startDevServer();
}, 60_000);

afterAll(async () => {
  await nomad?.stop();
  await edge?.stop();
});

describe.skipIf(!HAS_OPENSSL)("sync: Nomad over mTLS (needs openssl)", () => {
  it("connects with NOMAD_CACERT, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY, and fails without the client certificate", async () => {
    const ids = nomad.place(5);
    const base = ["--edge-addr", edge.url, "--edge-token", edge.token, "--edge-region", "asia"];
    const env = { NOMAD_ADDR: nomad.url, NOMAD_CACERT: file("ca.pem") };
    const without = await runOnce([...base, "--state-dir", mkdtempSync(join(dir, "s-"))], env);
    expect(without.code).toBe(1);
    const withCert = await runOnce([...base, "--state-dir", mkdtempSync(join(dir, "s-"))], {
      ...env,
      NOMAD_CLIENT_CERT: file("client.pem"),
      NOMAD_CLIENT_KEY: file("client.key"),
    });
    expect(withCert.output).toContain("the edge matches Nomad (5 allocations");
    expect(withCert.code).toBe(0);
    const at = await edgeIds(edge, "asia");
    expect(ids.every((id) => at.has(id))).toBe(true);
  });
});
