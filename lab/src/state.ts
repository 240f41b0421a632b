// lab.json: written only by the TypeScript side (stand-ins read it), atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabJson } from './topology';

export function labJsonPath(dir: string): string {
  return path.join(dir, 'lab.json');
}

export function readLabJson(dir: string): LabJson {
  return JSON.parse(fs.readFileSync(labJsonPath(dir), 'utf8')) as LabJson;
}

export function writeLabJson(dir: string, value: LabJson): void {
  const file = labJsonPath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export function updateLabJson(dir: string, patch: (l: LabJson) => void): LabJson {
  const l = readLabJson(dir);
  patch(l);
  writeLabJson(dir, l);
  return l;
}

export function vmDir(dir: string, host: string, vmid: number): string {
  return path.join(dir, 'hosts', host, 'vms', String(vmid));
}

export function readJsonOr<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}
