import { describe, expect, it } from "vitest";
import { displayMessage } from "../../src/domain/display-message.ts";
import { type JsonObject, parseJson } from "../../src/json/codec.ts";

const msg = (json: string) => displayMessage(parseJson(json) as JsonObject);

describe("DisplayMessage as Nomad fills it", () => {
  it.each([
    ['{"Type":"Started"}', "Task started by client"],
    ['{"Type":"Received"}', "Task received by client"],
    ['{"Type":"Task Setup","Message":"Building Task Directory"}', "Building Task Directory"],
    ['{"Type":"Terminated","ExitCode":0}', "Exit Code: 0"],
    [
      '{"Type":"Terminated","ExitCode":137,"Signal":9,"Message":"OOM \\"killed\\""}',
      'Exit Code: 137, Signal: 9, Exit Message: "OOM \\"killed\\""',
    ],
    ['{"Type":"Restarting","StartDelay":15000000000,"RestartReason":"Restart within policy"}', "Task restarting in 15s"],
    [
      '{"Type":"Restarting","StartDelay":1500000000,"RestartReason":"Exceeded allowed attempts, applying a delay"}',
      "Exceeded allowed attempts, applying a delay - Task restarting in 1.5s",
    ],
    ['{"Type":"Killing","KillTimeout":5000000000}', "Sent interrupt. Waiting 5s before force killing"],
    ['{"Type":"Killing","KillReason":"vault: token expired"}', "vault: token expired"],
    ['{"Type":"Killing"}', "Sent interrupt"],
    ['{"Type":"Killed"}', "Task successfully killed"],
    ['{"Type":"Killed","KillError":"no such process"}', "no such process"],
    ['{"Type":"Sibling Task Failed","FailedSibling":"web"}', 'Task\'s sibling "web" failed'],
    ['{"Type":"Leader Task Dead"}', "Leader Task in Group dead"],
    // nomad/structs/structs.go PopulateEventDisplayMessage (main): the cases added after 0.7.
    ['{"Type":"Main Tasks Dead"}', "Main tasks in the group died"],
    ['{"Type":"Reconnected"}', "Client reconnected"],
    ['{"Type":"Task hook failed","Message":"prestart hook failed"}', "prestart hook failed"],
    ['{"Type":"Waiting for shutdown delay","Message":""}', ""],
    ['{"Type":"Signaling","TaskSignal":"interrupt","TaskSignalReason":"user"}', "Task being sent signal interrupt: user"],
    ['{"Type":"Signaling"}', "Task being sent a signal"],
    ['{"Type":"Not Restarting","RestartReason":"Policy allows no restarts"}', "Policy allows no restarts"],
    ['{"Type":"Not Restarting"}', "Task exceeded restart policy"],
    ['{"Type":"Setup Failure","SetupError":"no disk"}', "no disk"],
    ['{"Type":"Driver Failure"}', "Failed to start task"],
    ['{"Type":"Failed Artifact Download","DownloadError":"404"}', "404"],
    ['{"Type":"Downloading Artifacts"}', "Client is downloading artifacts"],
    ['{"Type":"Restart Signaled","RestartReason":"user: restart"}', "user: restart"],
    ['{"Type":"Driver","DriverMessage":"Downloading image redis:latest"}', "Downloading image redis:latest"],
    ['{"Type":"Generic","Message":"hello"}', "hello"],
  ])("%s → %j", (event, text) => expect(msg(event)).toBe(text));
});
