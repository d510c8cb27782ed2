/**
 * `DisplayMessage` as Nomad's `TaskEvent.PopulateEventDisplayMessage` writes it: a summary built
 * from the event type and its annotations (every case of nomad/structs/structs.go on main; other
 * types take `Message`). A message the sender already set is kept.
 */
import { encodeString, JsonNumber, type JsonObject } from "../json/codec.ts";
import { formatGoDuration } from "../json/go-time.ts";

const REASON_WITHIN_POLICY = "Restart within policy";

function str(event: JsonObject, key: string): string {
  const value = event[key];
  return typeof value === "string" ? value : "";
}

function int(event: JsonObject, key: string): bigint {
  const value = event[key];
  return value instanceof JsonNumber && value.isInteger ? value.toBigInt() : 0n;
}

/** Go's `%q` for the printable strings events carry. */
const goQuote = encodeString;

export function displayMessage(event: JsonObject): string {
  const either = (key: string, fallback: string) => str(event, key) || fallback;
  switch (str(event, "Type")) {
    case "Task Setup":
      return str(event, "Message");
    case "Started":
      return "Task started by client";
    case "Received":
      return "Task received by client";
    case "Failed Validation":
      return either("ValidationError", "Validation of task failed");
    case "Setup Failure":
      return either("SetupError", "Task setup failed");
    case "Driver Failure":
      return either("DriverError", "Failed to start task");
    case "Downloading Artifacts":
      return "Client is downloading artifacts";
    case "Failed Artifact Download":
      return either("DownloadError", "Failed to download artifacts");
    case "Killing": {
      if (str(event, "KillReason")) return str(event, "KillReason");
      const timeout = int(event, "KillTimeout");
      return timeout !== 0n ? `Sent interrupt. Waiting ${formatGoDuration(timeout)} before force killing` : "Sent interrupt";
    }
    case "Killed":
      return either("KillError", "Task successfully killed");
    case "Terminated": {
      const parts = [`Exit Code: ${int(event, "ExitCode")}`];
      if (int(event, "Signal") !== 0n) parts.push(`Signal: ${int(event, "Signal")}`);
      if (str(event, "Message")) parts.push(`Exit Message: ${goQuote(str(event, "Message"))}`);
      return parts.join(", ");
    }
    case "Restarting": {
      const delay = `Task restarting in ${formatGoDuration(int(event, "StartDelay"))}`;
      const reason = str(event, "RestartReason");
      return reason && reason !== REASON_WITHIN_POLICY ? `${reason} - ${delay}` : delay;
    }
    case "Not Restarting":
      return either("RestartReason", "Task exceeded restart policy");
    case "Sibling Task Failed":
      return str(event, "FailedSibling") ? `Task's sibling ${goQuote(str(event, "FailedSibling"))} failed` : "Task's sibling failed";
    case "Signaling": {
      const signal = str(event, "TaskSignal");
      const reason = str(event, "TaskSignalReason");
      if (!signal && !reason) return "Task being sent a signal";
      if (!signal) return reason;
      return reason ? `Task being sent signal ${signal}: ${reason}` : `Task being sent signal ${signal}`;
    }
    case "Restart Signaled":
      return either("RestartReason", "Task signaled to restart");
    case "Driver":
      return str(event, "DriverMessage");
    case "Leader Task Dead":
      return "Leader Task in Group dead";
    case "Main Tasks Dead":
      return "Main tasks in the group died";
    case "Reconnected":
      return "Client reconnected";
    default:
      return str(event, "Message");
  }
}
