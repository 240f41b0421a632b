// Parses what `pct status`, `pct config` and `pct list` print (pve-container src/PVE/CLI/pct.pm).
// A missing config is not an error here, but it only says the CT is not on THIS node: pct's `status`
// runs PVE::LXC::Config->load_config($vmid) with the local node name (pve-guest-common
// src/PVE/AbstractConfig.pm load_config: "Configuration file 'nodes/<local node>/lxc/<id>.conf' does
// not exist"), so a CT that lives on another cluster node reads the same as a destroyed one.
import { ApplicationFailure } from '@temporalio/common';

/** A CT's state in the whole cluster: gone means absent from every node. */
export type CtState = 'running' | 'stopped' | 'gone';
/** What `pct status` on one node can tell. */
export type LocalCtState = 'running' | 'stopped' | 'not-on-this-node';

const MISSING = /^Configuration file 'nodes\/[^/]+\/lxc\/(\d+)\.conf' does not exist$/m;

/** `pct status <id>` → running | stopped; the missing-config error → not-on-this-node; anything else throws. */
export function parsePctStatus(raw: { exitCode: number | null; stdout: string; stderr: string }, ctid: number): LocalCtState {
  if (raw.exitCode === 0) {
    const m = /^status: (\S+)\s*$/.exec(raw.stdout.trim());
    if (m && (m[1] === 'running' || m[1] === 'stopped')) return m[1];
    throw ApplicationFailure.nonRetryable(`pct status ${ctid} printed ${JSON.stringify(raw.stdout.trim())}: expected "status: running|stopped"`, 'UnexpectedOutput');
  }
  const missing = MISSING.exec(raw.stderr);
  if (missing && Number(missing[1]) === ctid) return 'not-on-this-node';
  throw new Error(`pct status ${ctid} exited ${raw.exitCode}: ${raw.stderr.trim() || raw.stdout.trim()}`);
}

/** The node named in pct's missing-config error (pct runs as that node: PVE::INotify::nodename), or null. */
export function missingConfigNode(stderr: string): string | null {
  return /^Configuration file 'nodes\/([^/]+)\/lxc\/\d+\.conf' does not exist$/m.exec(stderr)?.[1] ?? null;
}

/** One volume entry of a CT config (rootfs, mpN, unusedN). */
export interface CtVolume {
  key: string;
  /** The storage volume id (`local-lvm:vm-113-disk-1`) or, for bind/device mount points, the host path. */
  volid: string;
  /** pve-container src/PVE/LXC/Config.pm classify_mountpoint: /dev/... device, /... bind, else volume. */
  type: 'volume' | 'bind' | 'device';
  /** Mount path inside the CT ('/' for rootfs; none for unusedN). */
  mp: string | null;
  /** The `backup` flag of a mount point (Config.pm $mp_desc backup: boolean). */
  backup: boolean;
  /**
   * The CT id that owns the volume, read from the volume name as pve-storage's parse_volname does
   * (LvmThinPlugin.pm, ZFSPoolPlugin.pm parse_volname: vm-/base-/subvol-/basevol-<id>-...); null for bind/device mounts or a name of no known shape.
   */
  owner: number | null;
}

const BOOL_TRUE = /^(1|true|yes|on)$/i;

/**
 * The volumes of a `pct config` in pve-container's order (src/PVE/LXC/Config.pm
 * valid_volume_keys_with_unused: rootfs, mp0..mp255, unused0..). Each value is a property string:
 * `[volume=]<volid>,mp=<path>[,backup=<bool>][,size=...]` (Config.pm parse_volume, $rootfs_desc,
 * $mp_desc, $unused_desc).
 */
export function parseCtVolumes(conf: Record<string, string>): CtVolume[] {
  const num = (k: string) => Number(k.replace(/^\D+/, ''));
  const keys = Object.keys(conf)
    .filter((k) => /^(mp|unused)\d+$/.test(k))
    .sort((a, b) => (a[0] === b[0] ? num(a) - num(b) : a.startsWith('mp') ? -1 : 1));
  if (conf.rootfs !== undefined) keys.unshift('rootfs');
  return keys.map((key) => {
    let volid = '';
    const opts: Record<string, string> = {};
    for (const [i, part] of conf[key]!.split(',').entries()) {
      const eq = part.indexOf('=');
      if (eq < 0 && i === 0) volid = part;
      else if (eq >= 0 && part.slice(0, eq) === 'volume') volid = part.slice(eq + 1);
      else if (eq >= 0) opts[part.slice(0, eq)] = part.slice(eq + 1);
    }
    const type = volid.startsWith('/dev/') ? 'device' : volid.startsWith('/') ? 'bind' : 'volume';
    const owner = type === 'volume' ? /(?:^|[:/])(?:vm|base|subvol|basevol)-(\d+)-/.exec(volid)?.[1] : undefined;
    return {
      key,
      volid,
      type,
      mp: key === 'rootfs' ? '/' : (opts.mp ?? null),
      backup: BOOL_TRUE.test(opts.backup ?? ''),
      owner: owner === undefined ? null : Number(owner),
    };
  });
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
