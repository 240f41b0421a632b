// The checkout's root, found from this file's place: the same under tsx (src/shared) and compiled
// (build/js-*/src/shared, scripts/build.mjs), so paths to scripts/, src/ and build/ hold in both.
import fs from 'node:fs';
import path from 'node:path';

function findRoot(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'src', 'shared'))) return d;
    if (path.dirname(d) === d) throw new Error(`no homelab-runbooks checkout above ${from}`);
  }
}

export const REPO_ROOT = findRoot(__dirname);
