// Parses what `pct status`, `pct config` and `pct list` print (pve-container src/PVE/CLI/pct.pm).
// A CT that does not exist is not an error here: pve-guest-common's "Configuration file
// 'nodes/<node>/lxc/<id>.conf' does not exist" means the CT is gone (a finished retirement).
import { ApplicationFailure } from '@temporalio/common';

export type CtState = 'running' | 'stopped' | 'gone';

const MISSING = /^Configuration file 'nodes\/[^/]+\/lxc\/(\d+)\.conf' does not exist$/m;

/** `pct status <id>` → running | stopped; the missing-config error → gone; anything else throws. */
export function parsePctStatus(raw: { exitCode: number | null; stdout: string; stderr: string }, ctid: number): CtState {
  if (raw.exitCode === 0) {
    const m = /^status: (\S+)\s*$/.exec(raw.stdout.trim());
    if (m && (m[1] === 'running' || m[1] === 'stopped')) return m[1];
    throw ApplicationFailure.nonRetryable(`pct status ${ctid} printed ${JSON.stringify(raw.stdout.trim())}: expected "status: running|stopped"`, 'UnexpectedOutput');
  }
  const missing = MISSING.exec(raw.stderr);
  if (missing && Number(missing[1]) === ctid) return 'gone';
  throw new Error(`pct status ${ctid} exited ${raw.exitCode}: ${raw.stderr.trim() || raw.stdout.trim()}`);
}

/** `pct config <id>`: `key: value` lines (sorted keys, then raw `lxc.*` lines). */
export function parsePctConfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_.-]+): (.*)$/.exec(line);
    if (m) out[m[1]!] = out[m[1]!] === undefined ? m[2]! : `${out[m[1]!]}\n${m[2]!}`;
  }
  return out;
}

export interface PctListEntry {
  vmid: number;
  status: string;
  lock: string;
  name: string;
}

/** `pct list`: printf "%-10s %-10s %-12s %-20s" rows under a VMID/Status/Lock/Name header; empty when no CTs. */
export function parsePctList(text: string): PctListEntry[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  if (!/^VMID\s+Status\s+Lock\s+Name/.test(lines[0]!)) {
    throw ApplicationFailure.nonRetryable(`pct list printed an unexpected header: ${JSON.stringify(lines[0])}`, 'UnexpectedOutput');
  }
  return lines.slice(1).map((l) => ({
    vmid: Number(l.slice(0, 10).trim()),
    status: l.slice(11, 21).trim(),
    lock: l.slice(22, 34).trim(),
    name: l.slice(35).trim(),
  }));
}
