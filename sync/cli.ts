/** The `nomad-alloc-edge` command: `nomad-alloc-edge sync …` (the only subcommand). */
import { USAGE } from "./config.ts";
import { syncCommand } from "./main.ts";

const [command, ...rest] = process.argv.slice(2);
if (command === "sync") {
  process.exitCode = await syncCommand(rest, process.env);
} else {
  console.error(
    command === undefined || command === "help" || command === "--help" ? USAGE : `unknown command ${JSON.stringify(command)}\n\n${USAGE}`,
  );
  process.exitCode = command === "help" || command === "--help" ? 0 : 2;
}
