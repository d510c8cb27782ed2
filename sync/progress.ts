/** What a person running the bridge sees: timestamped lines, and the initial load as a count. */

export class Progress {
  readonly #quiet: boolean;
  constructor(quiet = false) {
    this.#quiet = quiet;
  }

  line(text: string): void {
    if (!this.#quiet) console.log(`${new Date().toISOString()} ${text}`);
  }
}

/** `1,200/10,000` */
export function count(done: number, total: number): string {
  return `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}`;
}
