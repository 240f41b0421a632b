// What `pct destroy` would free and whether the vzdump backup holds it (pure; no commands).
// pve-container src/PVE/LXC.pm destroy_lxc_container frees every volume of rootfs, mpN and unusedN
// (foreach_volume_full include_unused) that the CT owns (delete_mountpoint_volume: bind and device
// mount points are no volumes and stay; another CT's volume is skipped); --purge only drops the CT
// from backup/replication jobs and HA, it keeps no volume. vzdump backs up rootfs and only those
// volume mount points that have backup=1 (src/PVE/LXC/Config.pm mountpoint_backup_enabled), never
// an unusedN volume (get_backup_volumes walks rootfs and mpN only).
import { ApplicationFailure } from '@temporalio/common';
import type { CtVolume } from '../parse/pct';

export interface DestroyImpact {
  /** Volumes the destroy frees and the backup holds (rootfs, mpN with backup=1). */
  backedUp: CtVolume[];
  /** Volumes the destroy frees that are in no backup: their data would be lost. */
  lost: CtVolume[];
  /** Bind/device mount points and other CTs' volumes: the destroy leaves them. */
  kept: CtVolume[];
}

export function destroyImpact(volumes: CtVolume[], ctid: number): DestroyImpact {
  const out: DestroyImpact = { backedUp: [], lost: [], kept: [] };
  for (const v of volumes) {
    // a name of unknown shape counts as owned: better a refusal than a volume freed unseen
    if (v.type !== 'volume' || (v.owner !== null && v.owner !== ctid)) out.kept.push(v);
    else if (v.key === 'rootfs' || (v.key.startsWith('mp') && v.backup)) out.backedUp.push(v);
    else out.lost.push(v);
  }
  return out;
}

const describe = (v: CtVolume) => `${v.key} (${v.volid}${v.mp ? ` at ${v.mp}` : ''})`;

/** Evidence lines: what the destroy frees, what the backup holds, what stays. */
export function impactEvidence(i: DestroyImpact, ctid: number): string[] {
  const lines = [`pct destroy ${ctid} frees ${[...i.backedUp, ...i.lost].map(describe).join(', ') || 'no volume'}`];
  if (i.backedUp.length) lines.push(`in the vzdump backup: ${i.backedUp.map((v) => v.key).join(', ')}`);
  for (const v of i.kept) lines.push(`kept by the destroy: ${describe(v)} (${v.type === 'volume' ? `owned by CT ${v.owner}` : `${v.type} mount, not a volume`}; not in the backup either)`);
  return lines;
}

/** Refuses when the destroy would free a volume that no backup holds. */
export function refuseLoss(i: DestroyImpact, ctid: number, host: string): void {
  if (i.lost.length === 0) return;
  const what = i.lost.map(describe).join(', ');
  const fix = i.lost.map((v) =>
    v.key.startsWith('unused')
      ? `${v.key} is a detached volume: look at it, then either free it if nothing on it is needed (pct set ${ctid} --delete ${v.key}) or attach it as a mount point with backup=1 (pct set ${ctid} --mpN ${v.volid},mp=<path>,backup=1)`
      : `set backup=1 on ${v.key} (pct set ${ctid} --${v.key} <its current value>,backup=1) or move its data off the CT`,
  );
  throw ApplicationFailure.nonRetryable(
    `CT ${ctid} on ${host}: pct destroy would free ${what}, which vzdump leaves out of the backup ` +
      `(a mount point without backup=1 or a detached unusedN volume): its data would be lost; refusing to go on, the CT is not destroyed. ` +
      `To go on: ${fix.join('; ')}; then run the retirement again`,
    'PreconditionFailed',
  );
}
