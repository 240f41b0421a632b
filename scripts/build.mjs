#!/usr/bin/env node
// Compiles the runtime entry points (the `runbook` CLI, the worker, the main job and the lab they use)
// from TypeScript to JavaScript in build/js, so they start without tsx transpiling on every start
// (issue 14: tsx was ~1 s of `runbook --help` and ~2 s of a worker's start). Plain JS on purpose: it
// runs before anything is compiled. Each file stays its own module (no bundling), so `require.main`
// guards and relative requires keep working; paths to the checkout come from src/shared/repo-root.ts.
//   node scripts/build.mjs             # build
//   node scripts/build.mjs --if-stale  # build only when a source is newer than the last build (bin/runbook)
//   node scripts/build.mjs --workflows  # and the prebuilt workflow bundle, when a workflow changed (worker, npm start)
//   node scripts/build.mjs --quiet
// The output is written to a fresh directory and swapped in with an atomic rename of the build/js
// symlink, so a CLI started while another one rebuilds never loads half a build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(ROOT, 'build');
const LINK = path.join(BUILD, 'js');
/**
 * Touched after a complete build; a source newer than it makes the build stale. It lists what that
 * build compiled ({ entryPoints, inputs }, paths relative to the checkout), so a change to any of
 * those files is seen, wherever it lives, and so are the entry points (test/e2e/compiled-entry.test.ts).
 */
const STAMP = path.join(BUILD, 'js.stamp');
/** Earlier builds kept besides the current one. */
const KEEP_BUILDS = 4;
/**
 * The programs run compiled: the `runbook` CLI (bin/runbook), the worker (`npm run worker`), the main
 * job (`npm start`, with the lab), the workflow bundler (--workflows) and the benchmark's worker (so
 * `npm run bench` measures the start-up a compiled worker has). Each is compiled with every module it
 * imports, wherever that lives (scripts/, bench/, lab/src…): esbuild follows the imports (graph(), below).
 */
export const ENTRY_POINTS = ['src/client.ts', 'src/worker.ts', 'scripts/main.ts', 'scripts/bundle-workflows.ts', 'bench/worker-proc.ts'];
/** Compiled whole as well: modules loaded by path rather than imported (require.resolve('./failure-converter')). */
const SOURCE_DIRS = ['src', 'lab/src'];
/** Inputs of every build that are not compiled themselves. */
const CONFIG_FILES = ['package.json', 'tsconfig.json'];

const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (m) => quiet || console.error(m);

const rel = (p) => path.relative(ROOT, p).split(path.sep).join('/');

/** The .ts files of SOURCE_DIRS, relative to the checkout. */
function sourceDirFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel(p));
    }
  };
  for (const d of SOURCE_DIRS) walk(path.join(ROOT, d));
  return out;
}

/** What the last complete build compiled (its stamp), or undefined: none, or one from before the stamp listed it. */
export function lastBuild() {
  try {
    const s = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
    return Array.isArray(s.entryPoints) && Array.isArray(s.inputs) ? { entryPoints: s.entryPoints, inputs: s.inputs, builtAt: fs.statSync(STAMP).mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

const compiled = (ts) => path.join(LINK, ts.replace(/\.ts$/, '.js'));

/**
 * Whether build/js must be built: missing, built from other entry points, an entry point's compiled
 * file missing, or any file that build compiled, a source of SOURCE_DIRS, a config file or this script
 * newer than it (or gone: an import of a deleted module must fail the build, not run the old copy).
 */
export function isStale() {
  const last = lastBuild();
  if (!last || ENTRY_POINTS.some((e) => !last.entryPoints.includes(e))) return true;
  if (ENTRY_POINTS.some((e) => !fs.existsSync(compiled(e)))) return true;
  const inputs = new Set([...last.inputs, ...sourceDirFiles(), ...CONFIG_FILES]);
  for (const f of inputs) {
    let mtime;
    try {
      mtime = fs.statSync(path.join(ROOT, f)).mtimeMs;
    } catch {
      return true;
    }
    if (mtime > last.builtAt) return true;
  }
  return fs.statSync(fileURLToPath(import.meta.url)).mtimeMs > last.builtAt;
}

/** The checkout's TypeScript files the entry points import, directly or not (esbuild's import graph; nothing written). */
async function graph(esbuild) {
  const r = await esbuild.build({
    entryPoints: ENTRY_POINTS.map((e) => path.join(ROOT, e)),
    absWorkingDir: ROOT,
    outdir: path.join(BUILD, 'graph'),
    bundle: true,
    packages: 'external',
    write: false,
    metafile: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // warnings are the compile's to show; an unresolved import fails here, before anything is written
    logLevel: 'error',
  });
  const inputs = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith('node_modules/') && !f.startsWith('../'));
  // only TypeScript is compiled into build/js: a compiled module would not find anything else beside it
  const other = inputs.filter((f) => !/\.ts$/.test(f));
  if (other.length) throw new Error(`build: ${other.join(', ')} imported by a compiled entry point; build/js has no copy: read it by its path in the checkout (src/shared/repo-root.ts, lab/src/lab-dir.ts)`);
  return inputs;
}

async function build() {
  const started = Date.now();
  const stampTime = new Date(started);
  const esbuild = await import('esbuild');
  const entryPoints = [...new Set([...ENTRY_POINTS, ...(await graph(esbuild)), ...sourceDirFiles()])].sort();
  fs.mkdirSync(BUILD, { recursive: true });
  const out = fs.mkdtempSync(path.join(BUILD, 'js-'));
  fs.chmodSync(out, 0o755);
  await esbuild.build({
    entryPoints: entryPoints.map((f) => path.join(ROOT, f)),
    outdir: out,
    outbase: ROOT,
    bundle: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // swap: a temporary symlink renamed over build/js is atomic
  const tmpLink = path.join(BUILD, `js.link-${process.pid}`);
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(path.basename(out), tmpLink);
  fs.renameSync(tmpLink, LINK);
  // the stamp records when the sources were read, so an edit made during the build is seen next time
  const tmpStamp = `${STAMP}-${process.pid}`;
  fs.writeFileSync(tmpStamp, `${JSON.stringify({ entryPoints: ENTRY_POINTS, inputs: entryPoints }, null, 1)}\n`);
  fs.utimesSync(tmpStamp, stampTime, stampTime);
  fs.renameSync(tmpStamp, STAMP);
  // earlier builds: the last few stay, for processes still running from them (node follows the
  // symlink to the real directory), older ones go
  const earlier = fs
    .readdirSync(BUILD)
    .filter((e) => /^js-/.test(e) && path.join(BUILD, e) !== out)
    .map((e) => ({ p: path.join(BUILD, e), t: fs.statSync(path.join(BUILD, e)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { p } of earlier.slice(KEEP_BUILDS)) fs.rmSync(p, { recursive: true, force: true });
  log(`build: ${entryPoints.length} files compiled to build/js in ${Date.now() - started} ms`);
}

if (!args.has('--if-stale') || isStale()) {
  await build().catch((e) => {
    // esbuild has shown its errors (file, line and the source); its stack trace would only hide them
    if (Array.isArray(e?.errors) && e.errors.length) process.exit(1);
    throw e;
  });
}
if (args.has('--workflows')) {
  // the worker's bundle of src/workflows (scripts/bundle-workflows.ts, compiled above): rebuilt only when stale
  const r = spawnSync(process.execPath, [path.join(LINK, 'scripts', 'bundle-workflows.js'), '--if-stale'], { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
