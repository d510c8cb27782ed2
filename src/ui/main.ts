/**
 * The status pages' script (bundled into /ui/status.js by scripts/build-ui.ts). The Worker's
 * HTML names the page in `data-page`; everything shown comes from this origin's public API.
 */
import "./status.css";
import { allocationPage } from "./allocation-page.ts";
import { allocationsPage } from "./allocations-page.ts";

const main = document.getElementById("main");
const page = document.body.dataset.page;
if (main && page === "allocations") allocationsPage(main);
else if (main && page === "allocation") allocationPage(main, document.body.dataset.alloc ?? "");
