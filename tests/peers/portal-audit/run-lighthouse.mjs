// Lighthouse 12.2.3 on one portal page, in Debian's Chromium, as a logged-in user's
// browser sees it: tests/e2e/test_lighthouse.py runs it, one process per page.
//
//   CHROME_PATH=/usr/bin/chromium node run-lighthouse.mjs URL OUTPUT_PREFIX FORM_FACTOR [COOKIE]
//
// FORM_FACTOR is "mobile" (Lighthouse's default: a phone, simulated slow 4G and a 4x
// slower CPU) or "desktop" (its desktop preset). COOKIE ("name=value") is put in the
// browser's cookie jar for the page's origin before the run, and the storage reset that
// Lighthouse does first is skipped so that it stays: a cookie passed as an extra header
// (the CLI's --extra-headers) would reach the page's own requests but not those of the
// portal's service worker (its live fragments), which would then answer 401.
// Writes OUTPUT_PREFIX.report.json and OUTPUT_PREFIX.report.html and prints the
// category scores as one JSON line. Chromium flags: --headless=new --no-sandbox.
import fs from "node:fs";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import puppeteer from "puppeteer-core";

const [url, prefix, formFactor = "mobile", cookie = ""] = process.argv.slice(2);
if (!url || !prefix || !["mobile", "desktop"].includes(formFactor)) {
  console.error("usage: run-lighthouse.mjs URL OUTPUT_PREFIX mobile|desktop [name=value]");
  process.exit(2);
}
const chrome = process.env.CHROME_PATH || "/usr/bin/chromium";
const CATEGORIES = ["performance", "accessibility", "best-practices"];

const browser = await puppeteer.launch({
  executablePath: chrome,
  headless: false,   // the flag below chooses the headless mode
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  defaultViewport: null,
});
try {
  const page = await browser.newPage();
  if (cookie) {
    const at = cookie.indexOf("=");
    await page.setCookie({ name: cookie.slice(0, at), value: cookie.slice(at + 1), url,
                           httpOnly: true, sameSite: "Lax" });
  }
  const flags = { output: ["json", "html"], logLevel: "error", onlyCategories: CATEGORIES,
                  disableStorageReset: Boolean(cookie) };
  const config = formFactor === "desktop" ? desktopConfig : undefined;
  const result = await lighthouse(url, flags, config, page);
  if (!result) { throw new Error("lighthouse returned nothing"); }
  const [json, html] = result.report;
  fs.writeFileSync(`${prefix}.report.json`, json);
  fs.writeFileSync(`${prefix}.report.html`, html);
  const lhr = result.lhr;
  if (lhr.runtimeError) { throw new Error(`${lhr.runtimeError.code}: ${lhr.runtimeError.message}`); }
  const scores = Object.fromEntries(CATEGORIES.map((id) => [id, lhr.categories[id].score]));
  console.log(JSON.stringify({ url: lhr.finalDisplayedUrl, formFactor, scores }));
} finally {
  await browser.close();
}
