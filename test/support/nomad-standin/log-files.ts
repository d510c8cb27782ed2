/**
 * A task's log files as Nomad's logmon writes them (hashicorp/nomad client/logmon/logging/rotator.go
 * `FileRotator`): `<task>.<stdout|stderr>.<n>` in `alloc/logs`, a new file once the current one holds
 * `max_file_size` bytes (default 10 MB), avoiding a split line when the rest would fit in the next
 * file (`lineScanLimit` 32 KiB), and the oldest files deleted beyond `max_files` (default 10;
 * `purgeOldFiles`).
 */

const LINE_SCAN_LIMIT = 32 * 1024;

export interface RotationLimits {
  maxFileSize: number;
  maxFiles: number;
}

export class RotatingLog {
  readonly #limits: RotationLimits;
  readonly files = new Map<number, Buffer>();
  #current = 0;
  /** Every byte ever written, in order (what an exact shipper must deliver, rotation or not). */
  written: Buffer[] = [];

  constructor(limits: RotationLimits) {
    this.#limits = limits;
    this.files.set(0, Buffer.alloc(0));
  }

  write(data: Buffer): void {
    this.written.push(Buffer.from(data));
    let n = 0;
    let forceRotate = false;
    while (n < data.length) {
      const current = this.files.get(this.#current) as Buffer;
      if (forceRotate || current.length >= this.#limits.maxFileSize) {
        forceRotate = false;
        this.#next();
        continue;
      }
      const space = this.#limits.maxFileSize - current.length;
      const rest = data.subarray(n);
      let take: Buffer;
      if (space - LINE_SCAN_LIMIT < rest.length) {
        const newline = rest.indexOf(10);
        if (newline >= 0 && space - newline - 1 >= 0) take = rest.subarray(0, newline + 1);
        else if (newline >= 0 && current.length > 0) {
          forceRotate = true;
          continue;
        } else if (rest.length > this.#limits.maxFileSize || current.length === 0) take = rest.subarray(0, Math.min(space, rest.length));
        else {
          forceRotate = true;
          continue;
        }
      } else take = rest;
      this.files.set(this.#current, Buffer.concat([current, take]));
      n += take.length;
    }
  }

  #next(): void {
    this.#current++;
    this.files.set(this.#current, Buffer.alloc(0));
    const numbers = [...this.files.keys()].sort((a, b) => a - b);
    while (numbers.length > this.#limits.maxFiles) this.files.delete(numbers.shift() as number);
  }

  all(): Buffer {
    return Buffer.concat(this.written);
  }
}
