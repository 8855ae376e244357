import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEval } from "../../src/cluster/eval-run.js";
import { writeReport } from "../../src/report/write-report.js";
import { type SimServer, startSimServer } from "../../src/server/sim/sim-server.js";
import { repoRoot } from "../helpers/bin.js";
import { parseLines, tempDir } from "../helpers/dataset.js";
import { XSS } from "./helpers.js";

/**
 * The report in a real browser: Debian's `chromium` driven by playwright-core (no browser
 * download). Without either the test is skipped, and says so.
 */
const CHROMIUM = process.env.VLMPIPE_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const hasPlaywright = (() => {
  try {
    createRequire(import.meta.url).resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
})();
const missing = [
  hasChromium ? "" : `chromium (${CHROMIUM}; apt-get install chromium)`,
  hasPlaywright ? "" : "playwright-core (npm)",
].filter(Boolean);
if (missing.length > 0) console.warn(`test/report/browser.test.ts: SKIPPED, missing ${missing.join(" and ")}`);

const ARTIFACT = path.join(repoRoot, "test-artifacts", "report.png");
const BENCH = "mmmu-pro-standard-10";
const data = path.join(repoRoot, "fixtures", "data");

type Browser = import("playwright-core").BrowserContext;

describe.skipIf(missing.length > 0)("report.html in headless Chromium", () => {
  let sim: SimServer;
  let benchDir: string;
  let lines: Record<string, unknown>[];
  let reportFile: string;
  let browser: Browser;
  let profile: string;

  beforeAll(async () => {
    // An eval of two seeds on the fixtures, with reasoning and some failed rows (HTTP 400 is not retried).
    sim = await startSimServer({
      answers: path.join(data, BENCH, "test.jsonl"),
      accuracy: 0.6,
      reasoning: "field",
      fail_rate: 0.08,
      fail_status: 400,
    });
    const out = await tempDir("vlmpipe-report-browser-");
    await runEval({
      benchmarks: `${BENCH}:2`,
      model: sim.model,
      dataDir: data,
      outputDir: out,
      serverAddress: `${sim.url}/v1`,
      maxConcurrentRequests: 4,
      log: () => {},
      write: () => {},
    });
    benchDir = path.join(out, "eval-results", BENCH);
    // One untrusted generation that tries to break out of the page.
    const first = path.join(benchDir, "output-rs0.jsonl");
    const rows = parseLines(await readFile(first, "utf8"));
    rows[0] = { ...rows[0], generation: `${XSS}\nAnswer: A` };
    await writeFile(first, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    lines = [];
    for (const f of ["output-rs0.jsonl", "output-rs1.jsonl"])
      lines.push(...parseLines(await readFile(path.join(benchDir, f), "utf8")));
    reportFile = await writeReport(benchDir, { dataDir: path.join(data, BENCH) });

    const { chromium } = await import("playwright-core");
    profile = await mkdtemp(path.join(tmpdir(), "vlmpipe-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("shows the chart, filters the wrong answers, opens a sample, runs no untrusted script, fetches nothing", async () => {
    expect(lines.some((l) => l.error)).toBe(true); // the eval had failed rows to show
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("request", (r) => requests.push(r.url()));
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(pathToFileURL(reportFile).href);
    try {
      await checkPage(page);
    } catch (e) {
      // The page as it was when the check failed, for whoever reads the CI artifacts.
      await mkdir(path.dirname(ARTIFACT), { recursive: true });
      await page.screenshot({ path: ARTIFACT.replace(/\.png$/, "-failure.png"), fullPage: true });
      throw e;
    }
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
    await page.close();
  });

  async function checkPage(page: import("playwright-core").Page): Promise<void> {
    const subjects = new Set(lines.map((l) => l.subset_for_metrics));
    await expect(page.locator("#subject-chart rect.bar").count()).resolves.toBe(subjects.size);
    await expect(page.locator("#subject-chart g.subject circle.seed").count()).resolves.toBe(subjects.size * 2);
    await expect(page.locator("#sample-count").getAttribute("data-count")).resolves.toBe(String(lines.length));

    await page.click('.filters button[data-filter="wrong"]');
    const wrong = lines.filter((l) => l.symbolic_correct === false).length;
    expect(wrong).toBeGreaterThan(0);
    await expect(page.locator("#sample-count").getAttribute("data-count")).resolves.toBe(String(wrong));
    await expect(page.locator('.filters button[data-filter="wrong"] .n').textContent()).resolves.toBe(String(wrong));
    await expect(page.locator('.filters button[data-filter="error"] .n').textContent()).resolves.toBe(
      String(lines.filter((l) => l.error).length),
    );

    // A wrong answer: its images (embedded thumbnails, decoded), prompt, reasoning fold and answers.
    const sample = page.locator("details.sample").first();
    await sample.locator("summary").click();
    const body = sample.locator(".sample-body");
    await body.waitFor({ state: "visible" });
    const widths = await body
      .locator("figure.thumb img")
      .evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    expect(widths.length).toBeGreaterThan(0);
    expect(widths.every((w) => w > 0)).toBe(true);
    await expect(body.locator(".prompt pre.text").first().textContent()).resolves.toMatch(
      /Answer the following multiple choice question/,
    );
    await body.locator("details.reasoning > summary").click();
    await expect(body.locator("dl.answers").textContent()).resolves.toMatch(/expected/);

    // The generation holding </script><img onerror=...> is shown as text, and ran nothing.
    await page.click('.filters button[data-filter="all"]');
    await page.fill("#filter-text", "onerror");
    await page.waitForFunction(() => document.querySelector("#sample-count")?.getAttribute("data-count") === "1");
    await page.locator("details.sample > summary").first().click();
    await expect(page.locator("details.sample .response pre.text").last().textContent()).resolves.toContain(
      "</script><img src=x onerror=",
    );
    await expect(page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).resolves.toBeUndefined();

    // Back to the wrong answers with one open, for the picture.
    await page.fill("#filter-text", "");
    await page.click('.filters button[data-filter="wrong"]');
    await page.waitForFunction(
      (n) => document.querySelector("#sample-count")?.getAttribute("data-count") === String(n),
      wrong,
    );
    await page.locator("details.sample > summary").first().click();
    await page.locator("details.sample details.reasoning > summary").first().click();
    await mkdir(path.dirname(ARTIFACT), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    expect(existsSync(ARTIFACT)).toBe(true);
  }
});
