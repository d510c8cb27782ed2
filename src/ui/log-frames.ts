/**
 * Splits the logs API's framed stream (JSON objects written back to back, no separator, as Nomad
 * writes them) into whole frames, however the network cuts the text. Pure: fed text, returns the
 * complete objects' source texts and keeps the rest for the next chunk.
 */
export class FrameSplitter {
  #pending = "";
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Where the scan stopped in `#pending`. */
  #scanned = 0;
  #start = -1;

  /** Feeds decoded text; returns every frame completed by it, in order. */
  push(text: string): string[] {
    this.#pending += text;
    const frames: string[] = [];
    const source = this.#pending;
    for (let i = this.#scanned; i < source.length; i++) {
      const ch = source[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (ch === "\\") this.#escaped = true;
        else if (ch === '"') this.#inString = false;
      } else if (ch === '"') this.#inString = true;
      else if (ch === "{" || ch === "[") {
        if (this.#depth++ === 0) this.#start = i;
      } else if (ch === "}" || ch === "]") {
        if (this.#depth === 0) continue; // stray closer between frames: not part of any frame
        if (--this.#depth === 0) {
          frames.push(source.slice(this.#start, i + 1));
          this.#start = -1;
        }
      }
    }
    // Keep only the unfinished frame (whitespace between frames is dropped).
    if (this.#start >= 0) {
      this.#pending = source.slice(this.#start);
      this.#scanned = this.#pending.length;
      this.#start = 0;
    } else {
      this.#pending = "";
      this.#scanned = 0;
    }
    return frames;
  }

  /** Text of a frame still incomplete (a cut stream). */
  get rest(): string {
    return this.#pending;
  }
}

/** Decodes a frame's base64 `Data` into bytes. */
export function base64Bytes(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
