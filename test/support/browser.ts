/**
 * A real headless Chromium for page tests, with nothing to install outside npm.
 *
 *   const browser = await launchBrowser();      // throws, with the reason, when none can start
 *   const page = browser.page;                  // or browser.context.newPage()
 *   ...
 *   await browser.close();                      // closes Chromium and deletes its profile
 *
 * The browser is the one `CHROMIUM_PATH` names, when that variable is set (a system Chromium or
 * Chrome). Otherwise it is the Chromium shipped inside the `@sparticuz/chromium` npm package
 * (a Linux x86-64 headless shell with its own fonts): on first use its Brotli archives are unpacked
 * once into node_modules/.cache/, which later runs reuse. A browser that cannot be found or started
 * is an error, never a skipped test.
 *
 * Every launch gets a fresh profile and flags for a machine without internet: no GPU, no QUIC, no
 * first-run, background, component-update or sync traffic.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { ROOT } from "./tools.ts";

interface LaunchOptions {
  /** Page size of every page in the context; 1400×1000 unless given. */
  viewport?: { width: number; height: number };
}

export interface LaunchedBrowser {
  /** A persistent context on a profile of its own (so it is the whole browser). */
  context: BrowserContext;
  /** The context's first page, ready to use. */
  page: Page;
  /** The Chromium binary that runs. */
  executablePath: string;
  /** Closes the browser and deletes its profile; safe to call twice. */
  close: () => Promise<void>;
}

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const PACKAGE = "@sparticuz/chromium";
const PACKAGE_DIR = join(ROOT, "node_modules", PACKAGE);

/** Launches Chromium; rejects with a message that says which browser failed and what to do. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const chosen = await chooseChromium();
  const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chosen.executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, ...chosen.env },
      viewport: options.viewport ?? { width: 1400, height: 1000 },
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium ${chosen.executablePath} (${chosen.source}) did not start: ${(error as Error).message}\n${HINT}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, executablePath: chosen.executablePath, close };
}

const HINT =
  `The tests use the Chromium of the npm package ${PACKAGE} (Linux x86-64; run \`npm ci\` to install it), ` +
  "or the browser that CHROMIUM_PATH names (e.g. CHROMIUM_PATH=/usr/bin/chromium).";

interface ChosenChromium {
  executablePath: string;
  source: string;
  env: Record<string, string>;
}

async function chooseChromium(): Promise<ChosenChromium> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist.\n${HINT}`);
    return { executablePath: fromEnv, source: "CHROMIUM_PATH", env: {} };
  }
  if (!existsSync(join(PACKAGE_DIR, "package.json"))) throw new Error(`${PACKAGE} is not installed.\n${HINT}`);
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`${PACKAGE} ships Chromium for Linux x86-64 only; this is ${process.platform}-${process.arch}.\n${HINT}`);
  }
  const dir = await unpackedChromium();
  return { executablePath: join(dir, "chromium"), source: PACKAGE, env: { FONTCONFIG_PATH: dir } };
}

/**
 * The package's Chromium, unpacked into node_modules/.cache/<package>-<version>/ (binary, fonts,
 * SwiftShader libraries). The package unpacks into os.tmpdir() and takes any existing file there as
 * done, so it runs in a child process whose TMPDIR is a private staging directory, and the finished
 * directory is renamed into place: a directory that exists is complete, and runs in parallel (or an
 * interrupted one) cannot leave half a binary behind.
 */
async function unpackedChromium(): Promise<string> {
  const version = (JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }).version;
  const cache = join(ROOT, "node_modules", ".cache");
  const dir = join(cache, `sparticuz-chromium-${version}`);
  if (existsSync(join(dir, "chromium"))) return dir;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, "sparticuz-chromium-unpacking-"));
  try {
    await unpackInto(staging);
    // The package's fonts.conf names /tmp/fonts; point fontconfig at the unpacked fonts instead,
    // and at the system's configuration when there is one.
    writeFileSync(
      join(staging, "fonts.conf"),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, "fonts")}</dir>\n` +
        `  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <cachedir>${join(dir, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run finished first: use its copy.
      if (!existsSync(join(dir, "chromium"))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

function unpackInto(staging: string): Promise<void> {
  const script = `import(${JSON.stringify(PACKAGE)}).then((m) => m.default.executablePath())`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: staging },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0 && existsSync(join(staging, "chromium"))) resolve();
      else reject(new Error(`unpacking ${PACKAGE} failed (exit ${code}): ${stderr.trim()}\n${HINT}`));
    });
  });
}
