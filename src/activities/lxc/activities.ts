// Phase 4 activities: the old Frigate LXC, its vzdump backup to PBS, stop and destroy. Every change
// reads the CT's state first and does only what is missing, and reads the promised state after it.
// A CT is gone only when it is absent from the whole cluster (pct status alone sees one node); a CT
// whose destroy would free a volume that the backup leaves out is refused before any change.
import { ApplicationFailure } from '@temporalio/common';
import type { Planned } from '../../workflows/runbook/types';
import { activityRunOptions, describeTarget, runOk, type ActivityDeps } from '../deps';
import type { Target } from '../exec/types';
import { missingConfigNode, parseCtVolumes, parsePctConfig, parsePctStatus, type CtState } from '../parse/pct';
import { parseClusterGuests } from '../parse/pve-cluster';
import { parseArchiveName, parseStorageCfgEntry, parseVzdumpLog } from '../parse/vzdump';
import { pbsActivities } from '../pbs/activities';
import { planOf } from '../plan';
import * as cmd from './commands';
import { destroyImpact, impactEvidence, refuseLoss } from './volumes';

/** The CT to retire and where its backup goes, from the inventory (frigate.lxc, pbs.pveStorage). */
export interface LxcRef {
  host: string;
  ctid: number;
  /** PVE storage (type pbs) vzdump writes to. */
  storage: string;
  /** The Proxmox host whose PBS serves that storage now. */
  pbsHost: string;
}

export interface BackupFacts extends LxcRef {
  /** An archive of this CT at or after this time counts as the retirement backup (ISO). */
  notBefore: string;
  /** `ct/<id>/<time>` already there (nothing to do), or null (vzdump runs). */
  existing: string | null;
}

export interface StopFacts {
  host: string;
  ctid: number;
  state: CtState;
  /** `onboot` in `pct config` before the stop: set, the host's next boot would start the CT again. */
  onboot?: boolean;
}

export interface DestroyFacts {
  host: string;
  ctid: number;
  pbsHost: string;
  state: CtState;
  /** The archive that must exist before the CT may go. */
  archive: string | null;
}

export function lxcActivities(deps: ActivityDeps) {
  const inv = deps.inventory;
  const hostTarget = (host: string): Target => {
    if (!(host in inv.hosts)) throw ApplicationFailure.nonRetryable(`unknown Proxmox host "${host}"`, 'BadInput');
    return { kind: 'host', host };
  };

  // Phase 2's reader of the PVE storage (the same activity the workflow runs as the archive check)
  const pbs = pbsActivities(deps);

  /** Archives of this CT at or after notBefore, newest last. */
  async function ctArchives(ref: Pick<LxcRef, 'host' | 'ctid'>, notBefore?: string): Promise<string[]> {
    const { snapshots } = await pbs.listBackupSnapshots({ host: ref.host });
    return snapshots
      .filter((s) => s.type === 'ct' && s.id === String(ref.ctid) && (notBefore === undefined || Date.parse(s.time) >= Date.parse(notBefore)))
      .sort((a, b) => a.time.localeCompare(b.time))
      .map((s) => `ct/${s.id}/${s.time}`);
  }

  /**
   * The CT's state cluster-wide: `pct status` on its host, and when that node has no config, the
   * cluster's guest list (`pvesh get /cluster/resources`): gone only when no node has it. A CT that
   * lives on another node (migrated) is refused, never taken for destroyed.
   */
  async function locate(host: string, ctid: number): Promise<{ state: CtState; evidence: string[] }> {
    const target = hostTarget(host);
    const res = await deps.exec.run(target, cmd.pctStatus(ctid), activityRunOptions());
    const local = parsePctStatus(res, ctid);
    if (local !== 'not-on-this-node') return { state: local, evidence: [`${host}: pct status ${ctid} → status: ${local}`] };
    const node = missingConfigNode(res.stderr) ?? host;
    const guest = parseClusterGuests((await runOk(deps, target, cmd.clusterGuests())).stdout).find((g) => g.vmid === ctid);
    if (!guest) {
      return { state: 'gone', evidence: [`${host}: pct status ${ctid} → no config on node ${node}`, `pvesh get /cluster/resources: no guest ${ctid} on any node (absent from the whole cluster)`] };
    }
    if (guest.node === node) throw new Error(`the cluster lists ${guest.type} ${ctid} on node ${node}, but pct status ${ctid} there finds no config (pmxcfs not in sync yet?)`);
    if (guest.type !== 'lxc') {
      throw ApplicationFailure.nonRetryable(`VMID ${ctid} is a VM (qemu) on node ${guest.node}, not a CT: check frigate.lxc.ctid in the inventory; refusing to go on`, 'PreconditionFailed');
    }
    throw ApplicationFailure.nonRetryable(
      `CT ${ctid} is not on ${host}: it lives on cluster node ${guest.node} (status ${guest.status}${guest.name ? `, hostname ${guest.name}` : ''}), so it was migrated, not destroyed. ` +
        `Refusing to go on: if it is still the Frigate LXC to retire, set frigate.lxc.host to that node's host in the inventory and run again`,
      'PreconditionFailed',
    );
  }

  async function ctState(host: string, ctid: number): Promise<CtState> {
    return (await locate(host, ctid)).state;
  }

  /** What `pct destroy` would free (from `pct config`); refuses a volume no backup holds. */
  async function checkDestroyImpact(host: string, ctid: number): Promise<{ conf: Record<string, string>; evidence: string[] }> {
    const conf = parsePctConfig((await runOk(deps, hostTarget(host), cmd.pctConfig(ctid))).stdout);
    const impact = destroyImpact(parseCtVolumes(conf), ctid);
    refuseLoss(impact, ctid, host);
    return { conf, evidence: impactEvidence(impact, ctid) };
  }

  /** `onboot` of the CT's config (`pct config`), read as pve-common JSONSchema.pm parse_boolean does. */
  async function readOnboot(host: string, ctid: number): Promise<boolean> {
    const conf = parsePctConfig((await runOk(deps, hostTarget(host), cmd.pctConfig(ctid))).stdout);
    return /^(1|on|yes|true)$/i.test(conf.onboot ?? '');
  }

  return {
    /** The CT of `frigate.lxc` and the PBS storage of `pbs`; which host's PBS that storage reaches now. */
    async describeFrigateLxc(_: Record<string, never> = {}): Promise<LxcRef & { evidence: string[] }> {
      if (!inv.frigate) throw ApplicationFailure.nonRetryable('the inventory has no "frigate" section (frigate.lxc: {host, ctid})', 'BadInput');
      if (!inv.pbs) throw ApplicationFailure.nonRetryable('the inventory has no "pbs" section (pbs.pveStorage: where vzdump writes)', 'BadInput');
      const { host, ctid } = inv.frigate.lxc;
      const storage = inv.pbs.pveStorage;
      const cfg = await runOk(deps, hostTarget(host), cmd.readStorageCfg());
      const entry = parseStorageCfgEntry(cfg.stdout, storage);
      if (!entry) throw ApplicationFailure.nonRetryable(`PVE storage "${storage}" is not in ${cmd.STORAGE_CFG}: add it (Phase 2) first`, 'PreconditionFailed');
      if (entry.type !== 'pbs') throw ApplicationFailure.nonRetryable(`PVE storage "${storage}" is of type ${entry.type}, not pbs`, 'PreconditionFailed');
      const server = entry.props.server ?? '';
      const pbsHost = Object.keys(inv.hosts).find((h) => inv.hosts[h]!.address === server);
      if (!pbsHost) throw ApplicationFailure.nonRetryable(`PVE storage "${storage}" points at ${server}, which is no host of the inventory`, 'PreconditionFailed');
      const evidence = [
        `frigate.lxc: CT ${ctid} on ${host}`,
        `PVE storage ${storage} → PBS on ${pbsHost} (${server}), datastore ${entry.props.datastore ?? '?'}`,
      ];
      if (pbsHost !== inv.pbs.to) evidence.push(`note: inventory pbs.to is ${inv.pbs.to}, but the storage still points at ${pbsHost}`);
      return { host, ctid, storage, pbsHost, evidence };
    },

    /**
     * Running, stopped, or gone (absent from the whole cluster: a finished retirement). While it
     * exists, `pct config` shows what the destroy would free: a volume that no backup holds refuses
     * the run here, before the soak.
     */
    async readCtState({ host, ctid }: { host: string; ctid: number }): Promise<{ state: CtState; hostname: string | null; evidence: string[] }> {
      const { state, evidence } = await locate(host, ctid);
      if (state === 'gone') return { state, hostname: null, evidence: [...evidence, `CT ${ctid} does not exist in the cluster (already destroyed)`] };
      const { conf, evidence: impact } = await checkDestroyImpact(host, ctid);
      return { state, hostname: conf.hostname ?? null, evidence: [...evidence, `CT ${ctid}: hostname ${conf.hostname ?? '?'}`, ...impact] };
    },

    /** Preflight of the backup: is there already an archive of this CT from this retirement? */
    async planBackup(a: LxcRef & { notBefore: string }): Promise<Planned<BackupFacts>> {
      const state = await ctState(a.host, a.ctid);
      if (state === 'gone') throw ApplicationFailure.nonRetryable(`CT ${a.ctid} on ${a.host} no longer exists: nothing to back up`, 'PreconditionFailed');
      await checkDestroyImpact(a.host, a.ctid);
      const existing = (await ctArchives(a, a.notBefore)).pop() ?? null;
      const target = describeTarget(hostTarget(a.host));
      const plan = planOf(target, existing ? [`# ${existing} is already in the datastore: nothing to back up`] : [cmd.vzdump(a.ctid, a.storage)], {
        ct: String(a.ctid),
        state,
        storage: a.storage,
        pbsHost: a.pbsHost,
        archive: existing ?? `none since ${a.notBefore}`,
      });
      return { plan, facts: { host: a.host, ctid: a.ctid, storage: a.storage, pbsHost: a.pbsHost, notBefore: a.notBefore, existing } };
    },

    /** vzdump to PBS unless an archive since notBefore is already there; returns the archive name. */
    async backupCt(f: BackupFacts): Promise<{ archive: string; evidence: string[] }> {
      const already = (await ctArchives(f, f.notBefore)).pop();
      if (already) return { archive: already, evidence: [`${already} is already in the datastore (already backed up)`] };
      if ((await ctState(f.host, f.ctid)) === 'gone') throw ApplicationFailure.nonRetryable(`CT ${f.ctid} on ${f.host} no longer exists: nothing to back up`, 'PreconditionFailed');
      await checkDestroyImpact(f.host, f.ctid);
      const res = await deps.exec.run(hostTarget(f.host), cmd.vzdump(f.ctid, f.storage), activityRunOptions({ timeoutMs: 6 * 3_600_000 }));
      const log = parseVzdumpLog(`${res.stderr}\n${res.stdout}`, f.ctid);
      if (res.exitCode !== 0 || !log.jobOk || !log.archive || !log.duration) {
        throw new Error(`vzdump ${f.ctid} on ${f.host} failed (exit ${res.exitCode}): ${log.errors.join('; ') || res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      // vzdump's own word on what it left out: a volume mount point outside the archive would be freed by the destroy
      const leftOut = log.excluded.filter((x) => x.type === 'volume');
      if (leftOut.length) {
        throw ApplicationFailure.nonRetryable(
          `vzdump ${f.ctid} left ${leftOut.map((x) => `${x.key} ('${x.mp}', ${x.reason})`).join(', ')} out of ${log.archive}; pct destroy would free it: set backup=1 on it and run again`,
          'VerifyFailed',
        );
      }
      // post-condition through a second path: the datastore lists the archive vzdump named
      if (!(await ctArchives(f, f.notBefore)).includes(log.archive)) {
        throw ApplicationFailure.nonRetryable(`vzdump ${f.ctid} reported ${log.archive}, but the datastore on ${f.pbsHost} does not list it`, 'VerifyFailed');
      }
      const mps = log.included.map((x) => `${x.key} ('${x.mp}')`).join(', ');
      return {
        archive: log.archive,
        evidence: [
          `vzdump ${f.ctid} --storage ${f.storage} → ${log.archive}`,
          `Finished Backup of VM ${f.ctid} (${log.duration}); Backup job finished successfully`,
          `in the archive: ${mps || 'no mount point named'}${log.excluded.length ? `; left out: ${log.excluded.map((x) => `${x.key} (${x.reason})`).join(', ')}` : ''}`,
          `${log.archive} is listed in the datastore on ${f.pbsHost}`,
        ],
      };
    },

    /**
     * Preflight of the stop: what is left of `pct stop` and of turning `onboot` off. `pct stop` leaves
     * `onboot: 1` in the config (pve-container API2/LXC/Status.pm vm_stop writes no config), and the
     * host's boot starts every guest with it (pve-manager PVE/API2/Nodes.pm startall): a reboot during
     * the grace would bring the old Frigate back.
     */
    async planStopCt({ host, ctid }: { host: string; ctid: number }): Promise<Planned<StopFacts>> {
      const state = await ctState(host, ctid);
      const onboot = state !== 'gone' && (await readOnboot(host, ctid));
      const commands = [
        ...(state === 'running' ? [cmd.pctStop(ctid)] : [`# CT ${ctid} is ${state === 'gone' ? 'already destroyed' : 'already stopped'}: nothing to stop`]),
        ...(onboot ? [cmd.pctSetOnboot(ctid, false)] : []),
      ];
      const facts = { ct: String(ctid), state, ...(state === 'gone' ? {} : { onboot: onboot ? '1' : '0 (or unset)' }) };
      return { plan: planOf(describeTarget(hostTarget(host)), commands, facts), facts: { host, ctid, state, onboot } };
    },

    async stopCt(f: StopFacts): Promise<{ evidence: string[] }> {
      const state = await ctState(f.host, f.ctid);
      if (state === 'gone') return { evidence: [`CT ${f.ctid} is already destroyed`] };
      const onboot = await readOnboot(f.host, f.ctid);
      const evidence: string[] = [`pct config ${f.ctid} → ${onboot ? 'onboot was 1 (the next boot of the host would start it again)' : 'onboot not set (the host does not start it at boot)'}`];
      if (state === 'running') {
        await runOk(deps, hostTarget(f.host), cmd.pctStop(f.ctid), { timeoutMs: 300_000 });
        evidence.push(`pct stop ${f.ctid} → ok`);
      } else evidence.push(`CT ${f.ctid} is already stopped`);
      if (onboot) {
        await runOk(deps, hostTarget(f.host), cmd.pctSetOnboot(f.ctid, false));
        evidence.push(`pct set ${f.ctid} --onboot 0 → ok`);
      }
      // post-conditions through second reads: pct status says stopped, pct config has no onboot: 1
      const after = await ctState(f.host, f.ctid);
      if (after !== 'stopped') throw new Error(`pct stop ${f.ctid} returned, but the CT is ${after}`);
      if (await readOnboot(f.host, f.ctid)) throw new Error(`pct set ${f.ctid} --onboot 0 returned, but pct config ${f.ctid} still shows onboot: 1`);
      evidence.push(`pct status ${f.ctid} → status: stopped; pct config ${f.ctid} → no onboot: 1`);
      evidence.push(`to bring it back: ${f.onboot || onboot ? cmd.bringBack(f.ctid) : `pct start ${f.ctid}`}`);
      return { evidence };
    },

    /**
     * Preflight of the destroy (a point of no return): refuses unless the CT is stopped and an archive
     * of it is in the datastore. In a dry run the CT still runs: the plan is rendered with that said.
     */
    async planDestroyCt(a: LxcRef & { dryRun?: boolean }): Promise<Planned<DestroyFacts>> {
      const state = await ctState(a.host, a.ctid);
      const archive = state === 'gone' ? null : ((await ctArchives(a)).pop() ?? null);
      // before the irreversible gate: every volume the destroy frees must be in the backup
      const impact = state === 'gone' ? [] : (await checkDestroyImpact(a.host, a.ctid)).evidence;
      if (state !== 'gone' && !a.dryRun) {
        if (state !== 'stopped') throw ApplicationFailure.nonRetryable(`CT ${a.ctid} on ${a.host} is ${state}: it must be stopped before it is destroyed (run the stop step; was it started again?)`, 'PreconditionFailed');
        if (!archive) throw ApplicationFailure.nonRetryable(`no archive of CT ${a.ctid} is in the datastore behind ${a.storage}: back it up before destroying it`, 'PreconditionFailed');
      }
      const commands = state === 'gone' ? [`# CT ${a.ctid} is already destroyed: nothing to do`] : [cmd.pctDestroy(a.ctid)];
      return {
        plan: planOf(describeTarget(hostTarget(a.host)), commands, { ct: String(a.ctid), state, archive: archive ?? 'none', ...(impact.length ? { frees: impact[0]!.replace(/^pct destroy \d+ frees /, '') } : {}) }),
        facts: { host: a.host, ctid: a.ctid, pbsHost: a.pbsHost, state, archive },
      };
    },

    /** `pct destroy --purge 1` of a stopped, backed-up CT; a CT that is gone from the cluster is success. */
    async destroyCt(f: DestroyFacts): Promise<{ evidence: string[] }> {
      const state = await ctState(f.host, f.ctid);
      if (state === 'gone') return { evidence: [`CT ${f.ctid} does not exist in the cluster (already destroyed)`] };
      if (state !== 'stopped') throw ApplicationFailure.nonRetryable(`CT ${f.ctid} on ${f.host} is ${state} again: refusing to destroy it`, 'PreconditionFailed');
      if (!f.archive || !parseArchiveName(f.archive)) throw ApplicationFailure.nonRetryable(`no archive of CT ${f.ctid}: refusing to destroy it`, 'PreconditionFailed');
      if (!(await ctArchives(f)).includes(f.archive)) {
        throw ApplicationFailure.nonRetryable(`${f.archive} is no longer in the datastore on ${f.pbsHost}: refusing to destroy CT ${f.ctid}`, 'PreconditionFailed');
      }
      const impact = await checkDestroyImpact(f.host, f.ctid);
      const res = await runOk(deps, hostTarget(f.host), cmd.pctDestroy(f.ctid), { timeoutMs: 600_000 });
      // post-condition: absent from this node (pct status) and from the whole cluster (its guest list)
      let after: { state: CtState; evidence: string[] };
      try {
        after = await locate(f.host, f.ctid);
      } catch (e) {
        throw new Error(`pct destroy ${f.ctid} returned, but: ${(e as Error).message}`);
      }
      if (after.state !== 'gone') throw new Error(`pct destroy ${f.ctid} returned, but the CT is still ${after.state}`);
      return {
        evidence: [
          `pct destroy ${f.ctid} --purge 1 → ok${res.stdout.trim() ? `: ${res.stdout.trim()}` : ''}`,
          ...impact.evidence,
          ...after.evidence,
          `backup kept: ${f.archive}`,
        ],
      };
    },
  };
}
