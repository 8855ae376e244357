import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { remark } from "remark";
import remarkGfm from "remark-gfm";
import remarkValidateLinks from "remark-validate-links";
import { engine } from "unified-engine";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/bin.js";

/**
 * The README is a front page and the rest lives in docs/: a page moved or a heading renamed must
 * not leave a dead link behind. remark-validate-links checks relative links to files and to
 * headings (GitHub's slugs), across files when they are processed together, which is why the
 * files go through one unified-engine run rather than one remark call each.
 */

/** Markdown files whose relative links must resolve, relative to `root`. */
async function docFiles(root: string): Promise<string[]> {
  const top = ["README.md", "CONTRIBUTING.md"].filter((f) => existsSync(path.join(root, f)));
  const docsDir = path.join(root, "docs");
  const docs = existsSync(docsDir)
    ? (await readdir(docsDir, { recursive: true })).filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f))
    : [];
  return [...top, ...docs.sort()];
}

/** Every dead relative link in `files`, as "file:line:column reason". */
function deadLinks(root: string, files: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    engine(
      {
        processor: remark().use(remarkGfm),
        // repository: false keeps it offline and away from `git remote`; links are checked on disk.
        // (The cast: the engine's list is typed for plugins of unknown options.)
        plugins: [[remarkValidateLinks as (options: unknown) => void, { repository: false, root }]],
        files,
        cwd: root,
        extensions: ["md"],
        output: false,
        out: false,
        quiet: true,
        silent: true,
        color: false,
        detectConfig: false,
        detectIgnore: false,
        // The engine's own report is not wanted: the messages are read from the files below.
        streamError: { write: () => true } as unknown as NodeJS.WritableStream,
      },
      (err, _code, context) => {
        if (err) return reject(err);
        const found = (context?.files ?? []).flatMap((f) => {
          const file = path.relative(root, path.resolve(root, f.path));
          return f.messages.map((m) => `${file}:${m.line ?? "?"}:${m.column ?? "?"} ${m.reason}`);
        });
        resolve(found);
      },
    );
  });
}

describe("documentation links", () => {
  it("resolves every relative link in README.md, CONTRIBUTING.md and docs/ to a file and heading", async () => {
    const files = await docFiles(repoRoot);
    expect(files).toContain("README.md");
    expect(files).toContain("docs/README.md");
    expect(await deadLinks(repoRoot, files)).toEqual([]);
  });

  it("reports a missing file, a missing heading and a missing heading in another file", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "vlmpipe-links-"));
    try {
      await mkdir(path.join(root, "docs"));
      await writeFile(
        path.join(root, "README.md"),
        "# Top\n\n## Set-up (`npm ci`)\n\n[ok](#set-up-npm-ci) [page](docs/a.md#here) [gone](docs/b.md)\n\n" +
          "| a | b |\n|---|---|\n| [cell](#nowhere) | 1 |\n",
      );
      const page = "# A\n\n## Here\n\n[back](../README.md#top) [stale](../README.md#old)\n";
      await writeFile(path.join(root, "docs", "a.md"), page);
      const found = await deadLinks(root, await docFiles(root));
      expect(found).toHaveLength(3);
      expect(found).toContainEqual(expect.stringMatching(/^README\.md:\d+:\d+ .*`docs\/b\.md`/));
      expect(found).toContainEqual(expect.stringMatching(/^README\.md:\d+:\d+ .*`#nowhere`/));
      expect(found).toContainEqual(expect.stringMatching(/^docs\/a\.md:\d+:\d+ .*`#old` in `\.\.\/README\.md`/));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("names every docs/ page in the index, docs/README.md", async () => {
    const index = await readFile(path.join(repoRoot, "docs", "README.md"), "utf8");
    const pages = (await docFiles(repoRoot))
      .filter((f) => f.startsWith("docs/") && f !== "docs/README.md")
      .map((f) => path.relative("docs", f));
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((p) => !index.includes(p))).toEqual([]);
  });
});
