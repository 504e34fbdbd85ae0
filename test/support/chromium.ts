import { spawnSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env.WINNOW_CHROMIUM ?? "/usr/bin/chromium";

/**
 * A real headless Chromium (the Debian package) driven by playwright-core. Fails, never
 * skips, when the binary is missing: `bash scripts/install-services.sh` installs it.
 */
export async function launchChromium(): Promise<Browser> {
  const probe = spawnSync(CHROMIUM_PATH, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: run \`bash scripts/install-services.sh\` (or \`npm test\`, which runs it), or set WINNOW_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
