// The lab's directory (lab/) in the checkout, found from this file's place: the same under tsx
// (lab/src) and compiled (build/js-*/lab/src, scripts/build.mjs), where the stand-ins and
// requirements.json are not copied.
import * as fs from 'node:fs';
import * as path from 'node:path';

function findLabDir(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'lab', 'standins'))) return path.join(d, 'lab');
    if (path.dirname(d) === d) throw new Error(`no lab/standins above ${from}`);
  }
}

export const LAB_DIR = findLabDir(__dirname);
