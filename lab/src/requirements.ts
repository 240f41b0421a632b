// What the lab needs from the machine (lab/requirements.json, shared with scripts/setup.mjs): checked
// before anything starts, so a missing sshd is named with its package, never a time-out on a port.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LAB_DIR } from './lab-dir';

export interface Requirement {
  command: string;
  package: string;
  why: string;
}

const FILE = path.join(LAB_DIR, 'requirements.json');

export function labRequirements(): Requirement[] {
  return (JSON.parse(fs.readFileSync(FILE, 'utf8')) as { lab: Requirement[] }).lab;
}

/** Throws one error naming every missing command, its Debian package and the command that installs them. */
export function assertLabRequirements(requirements: Requirement[] = labRequirements()): void {
  const missing = requirements.filter((r) => !found(r.command));
  const problems: string[] = [];
  if (missing.length) {
    const pkgs = [...new Set(missing.map((r) => r.package))].join(' ');
    problems.push(
      `missing: ${missing.map((r) => `${r.command} (${r.package}: ${r.why})`).join('; ')}.` +
        ` Install with: apt-get install -y --no-install-recommends ${pkgs}   (or run npm start / npm test, which install them as root)`,
    );
  }
  if (process.getuid?.() !== 0) problems.push('the lab runs each host and VM in its own mount namespace: run it as root');
  if (problems.length) throw new Error(`the lab cannot start on this machine: ${problems.join('; ')}`);
}

function found(command: string): boolean {
  if (command.includes('*')) {
    const [before, after] = command.split('*') as [string, string];
    try {
      return fs.readdirSync(before).some((d) => executable(before + d + after));
    } catch {
      return false;
    }
  }
  if (command.startsWith('/')) return executable(command);
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && executable(path.join(d, command)));
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
