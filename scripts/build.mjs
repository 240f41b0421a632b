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
/** Touched after a complete build; a source newer than it makes the build stale. */
const STAMP = path.join(BUILD, 'js.stamp');
/** What is compiled: everything the CLI, the worker and the main job load at run time. */
/** Earlier builds kept besides the current one. */
const KEEP_BUILDS = 4;
const SOURCE_DIRS = ['src', 'lab/src'];
const SOURCE_FILES = [
  'scripts/main.ts',
  'scripts/rehearsal-commands.ts',
  'scripts/bundle-workflows.ts',
  // the benchmark's worker, so `npm run bench` measures the start-up a compiled worker has
  'bench/worker-proc.ts',
  'bench/activities.ts',
  'package.json',
  'tsconfig.json',
];

const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (m) => quiet || console.error(m);

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) walk(path.join(ROOT, d));
  return out;
}

/** Whether build/js is missing or older than any source (or the build script itself). */
export function isStale() {
  let built;
  try {
    built = fs.statSync(STAMP).mtimeMs;
    fs.statSync(path.join(LINK, 'src', 'client.js'));
  } catch {
    return true;
  }
  const inputs = [...sources(), ...SOURCE_FILES.map((f) => path.join(ROOT, f)), fileURLToPath(import.meta.url)];
  return inputs.some((f) => {
    try {
      return fs.statSync(f).mtimeMs > built;
    } catch {
      return false;
    }
  });
}

async function build() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  fs.mkdirSync(BUILD, { recursive: true });
  const out = fs.mkdtempSync(path.join(BUILD, 'js-'));
  fs.chmodSync(out, 0o755);
  const stampTime = new Date(started);
  const entryPoints = [...sources(), ...SOURCE_FILES.filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, f))];
  await esbuild.build({
    entryPoints,
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
  fs.closeSync(fs.openSync(STAMP, 'a'));
  fs.utimesSync(STAMP, stampTime, stampTime);
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
  await build();
}
if (args.has('--workflows')) {
  // the worker's bundle of src/workflows (scripts/bundle-workflows.ts, compiled above): rebuilt only when stale
  const r = spawnSync(process.execPath, [path.join(LINK, 'scripts', 'bundle-workflows.js'), '--if-stale'], { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
