// Proxmox host checks: IOMMU groups, reboots, and whether a VM runs with its guest agent.
import { heartbeat, sleep, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityRunOptions, runOk, type ActivityDeps } from './deps';
import { shellCommand } from './exec/quote';
import type { Target } from './exec/types';

const IOMMU_AND_BOOT = 'ls /sys/kernel/iommu_groups/ | wc -l; cat /proc/sys/kernel/random/boot_id';

export function proxmoxActivities(deps: ActivityDeps) {
  const hostTarget = (host: string): Target => {
    if (!(host in deps.inventory.hosts)) throw ApplicationFailure.nonRetryable(`unknown Proxmox host "${host}"`, 'BadInput');
    return { kind: 'host', host };
  };

  return {
    /** `ls /sys/kernel/iommu_groups/ | wc -l`: 0 means VT-d/IOMMU is off in the BIOS. */
    async countIommuGroups({ host }: { host: string }): Promise<{ groups: number; bootId: string; evidence: string[] }> {
      const res = await runOk(deps, hostTarget(host), IOMMU_AND_BOOT);
      const [count, bootId] = res.stdout.trim().split('\n').map((l) => l.trim());
      const groups = Number(count);
      if (!Number.isInteger(groups) || !bootId) throw new Error(`unexpected output from ${host}: ${JSON.stringify(res.stdout)}`);
      return {
        groups,
        bootId,
        evidence: [
          `${host}: ${groups} IOMMU groups${groups === 0 ? ' (VT-d/IOMMU is off: fix it in the BIOS)' : ''}`,
          `${host}: boot id ${bootId}`,
        ],
      };
    },

    /**
     * Waits through a reboot of the host: SSH gone, then back (or a new boot id). Heartbeats so a
     * cancel (the operator aborts) stops it at once, and remembers "gone" across retries.
     */
    async awaitHostReboot({ host, bootId }: { host: string; bootId: string }): Promise<{ bootId: string; evidence: string[] }> {
      const target = hostTarget(host);
      let sawDown = (Context.current().info.heartbeatDetails as { sawDown?: boolean } | undefined)?.sawDown ?? false;
      for (;;) {
        let current: string | undefined;
        try {
          const res = await deps.exec.run(target, 'cat /proc/sys/kernel/random/boot_id', activityRunOptions({ timeoutMs: 5_000 }));
          current = res.exitCode === 0 ? res.stdout.trim() : undefined;
        } catch {
          sawDown = true;
        }
        if (current && (sawDown || current !== bootId)) {
          return {
            bootId: current,
            evidence: [`${host} rebooted: ${sawDown ? 'SSH went away and came back, ' : ''}boot id ${bootId} → ${current}`],
          };
        }
        heartbeat({ sawDown });
        await sleep(2_000);
      }
    },

    /**
     * `qm status` says running and `qm guest cmd <id> ping` answers. A VM that was just started (a
     * host reboot) needs a moment for its agent, so both are polled for up to `withinSeconds`.
     */
    async checkVmRunning({ host, vmid, withinSeconds = 90 }: { host: string; vmid: number; withinSeconds?: number }): Promise<{ evidence: string[] }> {
      const target = hostTarget(host);
      const deadline = Date.now() + withinSeconds * 1000;
      for (;;) {
        const status = await deps.exec.run(target, shellCommand(['qm', 'status', String(vmid)]), activityRunOptions());
        const line = status.stdout.trim();
        let problem: string;
        if (status.exitCode !== 0 || line !== 'status: running') {
          problem = `VM ${vmid} on ${host} is not running (${line || status.stderr.trim() || `qm exited ${status.exitCode}`}): start it first`;
        } else {
          const ping = await deps.exec.run(target, shellCommand(['qm', 'guest', 'cmd', String(vmid), 'ping']), activityRunOptions());
          if (ping.exitCode === 0) {
            return { evidence: [`${host}: qm status ${vmid} → ${line}`, `${host}: qm guest cmd ${vmid} ping → ok`] };
          }
          problem = `the guest agent of VM ${vmid} on ${host} does not answer (${ping.stderr.trim() || `exit ${ping.exitCode}`})`;
        }
        if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(problem, 'PreconditionFailed');
        heartbeat(problem);
        await sleep(2_000);
      }
    },
  };
}
