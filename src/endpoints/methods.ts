/** What a method a path does not declare answers (Nomad's 405). */
import { CodedError, ErrorText } from "../errors.ts";

export function invalidMethod(): never {
  throw new CodedError(405, ErrorText.invalidMethod);
}
