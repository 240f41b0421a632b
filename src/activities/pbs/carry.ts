// What a PBS datastore owns besides its chunk store, and what `datastore remove` deletes with it
// (proxmox-backup src/api2/config/datastore.rs delete_datastore: verification, sync and prune jobs,
// the ACL subtree /datastore/<name>, tape jobs; the datastore.cfg entry with gc-schedule, notify...).
// Read on the old host before any change, re-created on the new host, and compared after.
import type { CliValue, PbsAcl, PbsJob } from '../parse/pbs';
import type { PbsJobKind } from './commands';

export interface DatastoreCarry {
  /** datastore.cfg options besides name, path and maintenance-mode (the old host sets it offline). */
  settings: Record<string, CliValue>;
  jobs: (PbsJob & { kind: PbsJobKind })[];
  acls: PbsAcl[];
}

/** Options `datastore create` turns into a prune job rather than keeping (create_datastore). */
const LEGACY_PRUNE = /^(prune-schedule|keep-(last|hourly|daily|weekly|monthly|yearly))$/;

export function datastoreSettings(options: Record<string, CliValue>): Record<string, CliValue> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => k !== 'maintenance-mode'));
}

/** The ACL entries the datastore removal drops: its path and everything below (AclTree delete_node). */
export function aclsOf(acls: PbsAcl[], store: string): PbsAcl[] {
  return acls.filter((a) => a.path === `/datastore/${store}` || a.path.startsWith(`/datastore/${store}/`));
}

const same = (a: CliValue | undefined, b: CliValue | undefined) => JSON.stringify(a) === JSON.stringify(b);
const aclKey = (a: PbsAcl) => `${a.path} ${a.ugidType}:${a.ugid} ${a.roleid} propagate=${a.propagate}`;

/** The settings the new datastore lacks or has otherwise (legacy prune options become a prune job). */
export function settingsDiff(want: Record<string, CliValue>, have: Record<string, CliValue>): string[] {
  return Object.entries(want)
    .filter(([k, v]) => !LEGACY_PRUNE.test(k) && !same(v, have[k]))
    .map(([k, v]) => `${k}: want ${JSON.stringify(v)}, have ${JSON.stringify(have[k] ?? null)}`);
}

/** Carried jobs missing on the new host, and those present there with other options. */
export function jobsDiff(want: DatastoreCarry['jobs'], have: Record<PbsJobKind, PbsJob[]>): { missing: DatastoreCarry['jobs']; differ: string[] } {
  const missing: DatastoreCarry['jobs'] = [];
  const differ: string[] = [];
  for (const j of want) {
    const there = have[j.kind].find((x) => x.id === j.id);
    if (!there) missing.push(j);
    else {
      const keys = new Set([...Object.keys(j.options), ...Object.keys(there.options)]);
      const bad = [...keys].filter((k) => !same(j.options[k], there.options[k]));
      if (bad.length) differ.push(`${j.kind}-job ${j.id}: ${bad.map((k) => `${k} ${JSON.stringify(there.options[k] ?? null)} ≠ ${JSON.stringify(j.options[k] ?? null)}`).join(', ')}`);
    }
  }
  return { missing, differ };
}

export function aclsMissing(want: PbsAcl[], have: PbsAcl[]): PbsAcl[] {
  const there = new Set(have.map(aclKey));
  return want.filter((a) => !there.has(aclKey(a)));
}

export function describeCarry(c: DatastoreCarry): string {
  const jobs = c.jobs.map((j) => `${j.kind}-job ${j.id}`).join(', ') || 'no jobs';
  const settings = Object.keys(c.settings).join(', ') || 'no settings';
  return `${settings}; ${jobs}; ${c.acls.length} ACL entries`;
}

export { aclKey };
