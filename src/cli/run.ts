// Development entry: `npx tsx src/cli/run.ts <command> …` runs the CLI from source without building.
import { main } from "./main.js";

process.exitCode = await main(process.argv);
