// The prebuilt workflow bundle (npm run build:bundle): a worker starting from it skips ~2.5 s of
// bundling (docs/benchmarks.md §3). Used only while it is newer than every workflow source file, so a
// stale bundle can never run changed workflow code.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root';

/** The workflow sources (TypeScript, also when this runs compiled: the SDK's bundler reads them). */
export const WORKFLOWS_DIR = path.join(REPO_ROOT, 'src', 'workflows');
export const PREBUILT_BUNDLE = process.env.RUNBOOK_WORKFLOW_BUNDLE ?? path.join(REPO_ROOT, 'build', 'workflow-bundle.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The prebuilt bundle's path when it is present and fresh, else undefined (bundle at start). */
export function freshPrebuiltBundle(): string | undefined {
  try {
    const built = fs.statSync(PREBUILT_BUNDLE).mtimeMs;
    // the failure converter is bundled too (scripts/bundle-workflows.ts)
    const converter = fs.statSync(path.join(REPO_ROOT, 'src', 'shared', 'failure-converter.ts')).mtimeMs;
    return built >= Math.max(newestSource(WORKFLOWS_DIR), converter) ? PREBUILT_BUNDLE : undefined;
  } catch {
    return undefined;
  }
}
