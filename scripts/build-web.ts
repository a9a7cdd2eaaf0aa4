/**
 * Builds the viewer-facing web app into web/dist, which the Worker serves as static assets:
 *
 *   web/src/<entry>.ts          -> web/dist/assets/<entry>.js (+ .map)   ES modules, minified
 *   shared code (hls.js, ...)   -> web/dist/assets/chunk-<hash>.js      loaded on demand by the entries
 *   web/public/pages/*.html     -> web/dist/pages/*.html                 the Worker answers /, /watch/:id, ...
 *   web/public/assets/*         -> web/dist/assets/*                     css, posters, icons
 *
 * Entry files keep stable names because the pages reference them literally; chunks are content-hashed.
 * The output depends only on the sources (no timestamps, sorted inputs), so two builds are byte-identical.
 *
 *   npm run build:web            one build
 *   npm run build:web -- --watch rebuild on change (pages and assets are copied once at start)
 */
import { build, context, type BuildOptions } from "esbuild";
import { cp, mkdir, readdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SRC = path.join(ROOT, "web/src");
const PUBLIC = path.join(ROOT, "web/public");
const DIST = path.join(ROOT, "web/dist");

/** Every top-level web/src/*.ts is a page entry point; modules live in subfolders. */
async function entryPoints(): Promise<string[]> {
  const names = (await readdir(SRC, { withFileTypes: true }))
    .filter((d) => d.isFile() && d.name.endsWith(".ts") && !d.name.endsWith(".d.ts"))
    .map((d) => d.name)
    .sort();
  if (names.length === 0) throw new Error(`no entry points in ${SRC}`);
  return names.map((n) => path.join(SRC, n));
}

async function copyPublic(outDir: string): Promise<void> {
  for (const dir of ["pages", "assets"]) {
    const from = path.join(PUBLIC, dir);
    await mkdir(path.join(outDir, dir), { recursive: true });
    await cp(from, path.join(outDir, dir), { recursive: true, force: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}

async function options(outDir: string): Promise<BuildOptions> {
  return {
    absWorkingDir: ROOT,
    entryPoints: await entryPoints(),
    outdir: path.join(outDir, "assets"),
    entryNames: "[name]",
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    // Safari 15 / iOS 15 and evergreen browsers: native ES modules, optional chaining, top-level await not used.
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    minify: true,
    sourcemap: "linked",
    sourcesContent: true,
    legalComments: "linked",
    charset: "utf8",
    logLevel: "warning",
    metafile: true,
    define: { "process.env.NODE_ENV": '"production"' },
  };
}

/**
 * Builds into `outDir` (default web/dist), replacing what was there. Tests that serve the pages
 * themselves pass their own folder, so they never disturb a stack serving web/dist.
 */
export async function buildWeb(outDir: string = DIST): Promise<{ outDir: string; files: string[]; ms: number }> {
  const started = performance.now();
  await rm(outDir, { recursive: true, force: true });
  await copyPublic(outDir);
  const result = await build(await options(outDir));
  const files = Object.keys(result.metafile?.outputs ?? {})
    .map((f) => path.relative(outDir, path.resolve(ROOT, f)))
    .sort();
  return { outDir, files, ms: Math.round(performance.now() - started) };
}

async function watch(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await copyPublic(DIST);
  const ctx = await context({ ...(await options(DIST)), logLevel: "info" });
  await ctx.watch();
  console.log("watching web/src for changes (pages and assets were copied once; restart to copy again)");
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  if (process.argv.includes("--watch")) {
    await watch();
  } else {
    const { files, ms } = await buildWeb();
    const js = files.filter((f) => f.endsWith(".js")).length;
    console.log(`web/dist: ${files.length} bundle files (${js} js) + pages and assets in ${ms} ms`);
  }
}
