// K3s on the nodes: the cluster's version and flags, removing the stale node, the clean uninstall,
// the pinned fresh install (the join token lives only inside installK3s), and waiting for Ready.
import { createHash } from 'node:crypto';
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityRunOptions, describeTarget, nodeRef, runOk, tail, type ActivityDeps } from '../deps';

import { validMemberId, validVersion } from '../exec/quote';
import { redact } from '../exec/redact';
import type { Planned } from '../../workflows/runbook/types';
import { planOf } from '../plan';
import { parseK3sVersion, parseK3sUnitExecStart, splitJoinFlags } from '../parse/k3s';
import { isMemberNotFound } from '../parse/etcdctl';
import { memberHealthy, membersOf, parseView, quorumOf } from '../etcd';
import { parseNodesJson } from '../parse/kubectl';
import { parseMemberListJson } from '../parse/etcdctl';
import * as cmd from './commands';

/** Facts of the removal, as its preflight found them. */
export interface RemoveFacts {
  node: string;
  healthyNode: string;
  /** The Kubernetes node object still exists. */
  deleteNode: boolean;
  /** Hex ID of the stale member still listed, or null. */
  removeMemberId: string | null;
}

export interface UninstallFacts {
  node: string;
  installed: boolean;
}

export interface InstallFacts {
  node: string;
  healthyNode: string;
  /** The old member's name (`<node>-<8 hex>`): a data dir with it is a leftover install. */
  staleMemberName: string | null;
  version: string;
  serverFlags: string[];
  /** This run's install job in the VM (see commands.startInstallJob); absent in plans made before it existed. */
  jobKey?: string;
}

const FLAG = /^-{0,2}[A-Za-z0-9][A-Za-z0-9=,._:/@+-]*$/;
const TOKEN = /^[A-Za-z0-9:._+/=-]{16,512}$/;

export function k3sActivities(deps: ActivityDeps) {
  const inv = deps.inventory;

  function checkVersionAndFlags(version: string, serverFlags: string[]): void {
    validVersion(version);
    for (const flag of serverFlags) {
      if (!FLAG.test(flag)) throw ApplicationFailure.nonRetryable(`unsafe K3s server flag ${JSON.stringify(flag)}`, 'BadInput');
    }
  }

  function installParams(f: InstallFacts & { jobKey: string }): cmd.InstallParams {
    const healthy = nodeRef(inv, f.healthyNode);
    return {
      installScriptUrl: inv.k3s.installScriptUrl,
      version: f.version,
      serverUrl: cmd.serverUrl(healthy.node.address, inv.k3s.apiPort),
      serverFlags: f.serverFlags,
      jobKey: f.jobKey,
    };
  }

  /** The cluster-wide flags of the healthy server's unit (node-specific ones left out, see splitJoinFlags). */
  async function joinFlags(healthyNode: string) {
    const ref = nodeRef(inv, healthyNode);
    const args = parseK3sUnitExecStart((await runOk(deps, ref.target, cmd.readUnit())).stdout);
    return { args, ...splitJoinFlags(args) };
  }

  /**
   * The post-condition of the install, read through the healthy node (not the VM that was installed):
   * a member of the node started and promoted in `etcdctl member list`, and the node Ready.
   */
  async function readJoined(node: string, healthyNode: string): Promise<{ ok: boolean; seen: string }> {
    const ref = nodeRef(inv, node);
    const healthy = nodeRef(inv, healthyNode);
    const list = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'list', '-w', 'json']));
    const mine = membersOf(parseMemberListJson(list.stdout), ref);
    const member = mine.find((m) => m.started && !m.isLearner);
    const kube = (await kubeNodes(healthyNode)).find((n) => n.name === node);
    const seen = [
      `etcd: ${mine.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''}`).join(', ') || `no member of ${node}`}`,
      `kubectl: ${kube ? `Ready=${kube.ready}` : `${node} not listed`}`,
    ].join('; ');
    return { ok: Boolean(member) && kube?.ready === 'True', seen };
  }

  /**
   * The stale node's own node-specific flags (its --node-name, --node-ip...), from its unit before the
   * uninstall: it comes back as it was. An unreadable unit gives none (the healthy node's cluster flags still apply).
   */
  async function ownNodeArgs(node: string): Promise<string[]> {
    const text = (await runOk(deps, nodeRef(inv, node).target, cmd.readOwnUnit())).stdout;
    if (!text.trim()) return [];
    try {
      return splitJoinFlags(parseK3sUnitExecStart(text)).nodeArgs;
    } catch {
      return [];
    }
  }

  /** This run's name for its install job: the same across retries and worker restarts, new for another run. */
  function jobKeyOfRun(): string {
    let id = 'manual';
    try {
      const wf = Context.current().info.workflowExecution as { workflowId: string; runId: string } | undefined;
      if (wf) id = `${wf.workflowId}/${wf.runId}`;
    } catch {
      /* not inside an activity (unit tests) */
    }
    return createHash('sha256').update(id).digest('hex').slice(0, 12);
  }

  async function installJob(node: string, jobKey: string): Promise<{ state: string; rc?: number; log: string }> {
    const res = await runOk(deps, nodeRef(inv, node).target, cmd.readInstallJob(jobKey));
    const [head = '', ...rest] = res.stdout.split('\n---\n');
    const m = /^job=(\w+)(?: rc=(\d+))?/.exec(head.trim());
    if (!m) throw new Error(`unexpected install job state on ${node}: ${JSON.stringify(head.slice(0, 200))}`);
    return { state: m[1]!, rc: m[2] === undefined ? undefined : Number(m[2]), log: rest.join('\n---\n') };
  }

  /**
   * Is the join server serving? Its K3s service active, its own etcd member healthy and a quorum of the
   * members healthy, read on it now: right after a reboot of the cluster a join fails
   * (k3s: `failed to get CA certs`) or waits, and install.sh reports the failure.
   */
  async function joinServerState(healthyNode: string): Promise<{ ready: boolean; seen: string }> {
    const healthy = nodeRef(inv, healthyNode);
    const [service, view] = await Promise.all([
      runOk(deps, healthy.target, cmd.k3sServiceState()).then((r) => r.stdout.trim() || 'unknown'),
      deps.exec.run(healthy.target, cmd.etcdView(inv, healthy.node.etcdEndpoint), activityRunOptions()),
    ]);
    if (view.exitCode !== 0) return { ready: false, seen: `k3s ${service}; etcd member list through ${healthyNode} failed` };
    const v = parseView(view.stdout);
    const up = v.members.filter((m) => memberHealthy(v, m)).length;
    const own = v.health.get(healthy.node.etcdEndpoint) === true;
    const seen = `k3s ${service}; its etcd member ${own ? 'healthy' : 'not healthy'}; ${up} of ${v.members.length} members healthy`;
    return { ready: service === 'active' && own && up >= quorumOf(v.members.length), seen };
  }

  async function kubeNodes(reader: string) {
    const res = await runOk(deps, nodeRef(inv, reader).target, cmd.kubectlGetNodes());
    return parseNodesJson(res.stdout);
  }

  /**
   * Is the member listed, and is it healthy now? Read through the healthy node in one round trip
   * (commands.etcdView): the member list, and every member's endpoints probed together with the
   * probe's short timeout (a dead one answers health:false).
   */
  async function memberState(healthyNode: string, id: string): Promise<{ listed: boolean; healthy: boolean }> {
    const healthy = nodeRef(inv, healthyNode);
    const v = parseView((await runOk(deps, healthy.target, cmd.etcdView(inv, healthy.node.etcdEndpoint))).stdout);
    const member = v.members.find((m) => m.id === id);
    if (!member) return { listed: false, healthy: false };
    return { listed: true, healthy: memberHealthy(v, member) };
  }

  /** Is the member still listed? The member list only: nothing is probed (the removal needs no health). */
  async function memberListed(healthyNode: string, id: string): Promise<boolean> {
    const healthy = nodeRef(inv, healthyNode);
    const list = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'list', '-w', 'json']));
    return parseMemberListJson(list.stdout).some((m) => m.id === id);
  }

  /** The probe of an install on the stale node: version and etcd member name of what is there. */
  async function probeInstall(node: string): Promise<{ version?: string; memberName: string; hasUninstall: boolean; hasData: boolean }> {
    const res = await deps.exec.run(
      nodeRef(inv, node).target,
      [
        'test -x /usr/local/bin/k3s && k3s --version | head -n1',
        `echo "name=$(cat ${cmd.ETCD_NAME_FILE} 2>/dev/null)"`,
        `test -x ${cmd.K3S_UNINSTALL} && echo has-uninstall`,
        'test -e /var/lib/rancher/k3s && echo has-data',
        'true',
      ].join('; '),
      activityRunOptions(),
    );
    return {
      version: /k3s version (\S+)/.exec(res.stdout)?.[1],
      memberName: /name=(.*)/.exec(res.stdout)?.[1]?.trim() ?? '',
      hasUninstall: res.stdout.includes('has-uninstall'),
      hasData: res.stdout.includes('has-data'),
    };
  }

  return {
    /** `k3s --version` and the server flags of the unit install.sh wrote, on a healthy server. */
    async readClusterVersion({ healthyNode }: { healthyNode: string }) {
      const ref = nodeRef(inv, healthyNode);
      // three independent reads on the healthy node, together
      const [versionOut, { keep: serverFlags, nodeSpecific, notCopied }, nodes] = await Promise.all([
        runOk(deps, ref.target, cmd.k3sVersion()),
        joinFlags(healthyNode),
        kubeNodes(healthyNode),
      ]);
      const version = parseK3sVersion(versionOut.stdout);
      // how it joined, its secrets and the values of its node-specific flags are not shown (--token, --vpn-auth...)
      const args = ['server', ...serverFlags, ...nodeSpecific.map((f) => `${f} …`), ...notCopied];
      checkVersionAndFlags(version, serverFlags);
      const versions = [...new Set(nodes.map((n) => n.kubeletVersion).filter(Boolean))];
      return {
        version,
        serverFlags,
        evidence: [
          `${healthyNode}: k3s --version → ${version}`,
          `kubelet versions in the cluster: ${versions.join(', ') || 'none'}`,
          `${healthyNode} runs: k3s ${args.join(' ')}`,
          `a joining server gets: ${serverFlags.join(' ') || '(no extra flags)'}`,
          ...(nodeSpecific.length ? [`not copied, ${healthyNode}'s own (node-specific): ${nodeSpecific.join(' ')}`] : []),
          ...(notCopied.length ? [`not copied (join flags, secrets, not on the allowlist): ${notCopied.join(' ')}`] : []),
        ],
      };
    },

    /** Preflight of the removal: what is still there to remove, rendered as the commands that will run. */
    async planStaleNodeRemoval({ node, healthyNode, staleMemberId }: { node: string; healthyNode: string; staleMemberId: string | null }): Promise<Planned<RemoveFacts>> {
      nodeRef(inv, node);
      const healthy = nodeRef(inv, healthyNode);
      if (staleMemberId !== null) validMemberId(staleMemberId);
      // two independent reads on the healthy node, together: the node object, and the member's state
      const [nodes, member] = await Promise.all([
        kubeNodes(healthyNode),
        staleMemberId ? memberState(healthyNode, staleMemberId) : { listed: false, healthy: false },
      ]);
      const deleteNode = nodes.some((n) => n.name === node);
      if (member.healthy) {
        throw ApplicationFailure.nonRetryable(`etcd member ${staleMemberId} of ${node} is healthy again: it is not stale, refusing to remove it`, 'PreconditionFailed');
      }
      const removeMemberId = member.listed ? staleMemberId : null;
      // The member first: deleting an etcd node's object makes K3s remove a member itself (its finalizer,
      // k3s pkg/etcd/member_controller.go onRemove), so this order runs exactly the commands shown.
      const commands = [
        ...(removeMemberId ? [cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', removeMemberId])] : []),
        ...(deleteNode ? [cmd.kubectlDeleteNode(node)] : []),
      ];
      const plan = planOf(describeTarget(healthy.target), commands.length ? commands : ['# nothing left to remove'], {
        node,
        healthyNode,
        nodeObject: deleteNode ? 'present' : 'absent',
        staleMember: removeMemberId ?? 'not listed',
      });
      return { plan, facts: { node, healthyNode, deleteNode, removeMemberId } };
    },

    /** `member remove` if the member is still listed, then `kubectl delete node` if the node object exists. */
    async removeStaleNode(f: RemoveFacts) {
      const healthy = nodeRef(inv, f.healthyNode);
      nodeRef(inv, f.node);
      const evidence: string[] = [];
      if (f.removeMemberId) {
        validMemberId(f.removeMemberId);
        const listed = await memberListed(f.healthyNode, f.removeMemberId);
        if (listed) {
          const res = await deps.exec.run(healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', f.removeMemberId]), activityRunOptions());
          // a lost attempt may have removed it already: "member not found" is the state we want
          if (res.exitCode !== 0 && !isMemberNotFound(res.stderr)) {
            throw new Error(`on ${describeTarget(healthy.target)}: etcdctl member remove ${f.removeMemberId} exited ${res.exitCode}: ${tail(res.stderr)}`);
          }
          evidence.push(res.exitCode === 0 ? res.stdout.trim() : `etcd member ${f.removeMemberId} was already gone (member not found)`);
        } else {
          evidence.push(`etcd member ${f.removeMemberId} is no longer listed (already removed)`);
        }
      }
      if ((await kubeNodes(f.healthyNode)).some((n) => n.name === f.node)) {
        const res = await runOk(deps, healthy.target, cmd.kubectlDeleteNode(f.node));
        evidence.push(`kubectl delete node ${f.node} → ${res.stdout.trim()}`);
      } else {
        evidence.push(`node ${f.node} is not in the cluster (already deleted)`);
      }
      // post-condition, read again: the member is not listed any more
      const memberLeft = f.removeMemberId ? await memberListed(f.healthyNode, f.removeMemberId) : false;
      if (memberLeft) {
        throw ApplicationFailure.nonRetryable(`after the removal etcd member ${f.removeMemberId} is still listed`, 'PostconditionFailed');
      }
      // a kubelet still running on the node registers its node object again: the uninstall stops it, so not a failure
      const nodeBack = (await kubeNodes(f.healthyNode)).find((n) => n.name === f.node);
      evidence.push(
        `read again: ${f.removeMemberId ? `member ${f.removeMemberId} not listed` : 'no member to remove'}, ` +
          (nodeBack ? `node ${f.node} registered again by its kubelet (Ready=${nodeBack.ready}); the uninstall stops it` : `node ${f.node} absent`),
      );
      return { evidence };
    },

    /** Preflight of the uninstall: is K3s there to uninstall? */
    async planUninstall({ node }: { node: string }): Promise<Planned<UninstallFacts>> {
      const stale = nodeRef(inv, node);
      const probe = await probeInstall(node);
      if (!probe.hasUninstall && probe.hasData) {
        throw ApplicationFailure.nonRetryable(
          `${node} has /var/lib/rancher/k3s but no ${cmd.K3S_UNINSTALL}: clean it up by hand (this runbook never runs rm -rf)`,
          'PreconditionFailed',
        );
      }
      const plan = planOf(describeTarget(stale.target), probe.hasUninstall ? cmd.uninstallK3s() : ['# K3s is not installed: nothing to uninstall'], {
        node,
        installed: probe.hasUninstall ? `${probe.version ?? 'unknown version'}, etcd member ${probe.memberName || 'none'}` : 'no',
      });
      return { plan, facts: { node, installed: probe.hasUninstall } };
    },

    /** `systemctl stop k3s || true`, then the official k3s-uninstall.sh; never rm -rf. */
    async uninstallK3s(f: UninstallFacts) {
      const stale = nodeRef(inv, f.node);
      const probe = await probeInstall(f.node);
      if (!probe.hasUninstall) {
        if (probe.hasData) {
          throw ApplicationFailure.nonRetryable(`${f.node} has K3s data but no ${cmd.K3S_UNINSTALL}: clean it up by hand`, 'PreconditionFailed');
        }
        return { evidence: [`K3s is not installed on ${f.node} (already uninstalled)`] };
      }
      // the node's own settings: k3s-uninstall.sh removes /etc/rancher/k3s (config.yaml may hold a token: never printed)
      const kept = lastLines((await runOk(deps, stale.target, cmd.backupK3sEtc())).stdout, 5);
      const [stop, uninstall] = cmd.uninstallK3s();
      await runOk(deps, stale.target, stop!);
      const res = await runOk(deps, stale.target, uninstall!, { timeoutMs: 300_000 });
      // post-condition, read again: no binary, no uninstall script, no data dir left
      const after = await probeInstall(f.node);
      if (after.version || after.hasUninstall || after.hasData) {
        throw ApplicationFailure.nonRetryable(
          `after k3s-uninstall.sh ${f.node} still has ${[after.version ? `k3s ${after.version}` : '', after.hasUninstall ? cmd.K3S_UNINSTALL : '', after.hasData ? '/var/lib/rancher/k3s' : ''].filter(Boolean).join(', ')}`,
          'PostconditionFailed',
        );
      }
      return {
        evidence: [
          ...kept.map((k) => `${cmd.K3S_ETC}: ${k} (kept for the reinstall, ${cmd.REJOIN_DIR})`),
          `${stop} → ok`, `${uninstall} → exit 0`, ...lastLines(res.stderr, 3),
          `read again: no k3s binary, no ${cmd.K3S_UNINSTALL}, no /var/lib/rancher/k3s`,
        ],
      };
    },

    /** Preflight of the install: the cluster's version and flags read again, the install line rendered (token masked). */
    async planInstall({ node, healthyNode, staleMemberName }: { node: string; healthyNode: string; staleMemberName: string | null }): Promise<Planned<InstallFacts>> {
      const stale = nodeRef(inv, node);
      const ref = nodeRef(inv, healthyNode);
      // independent reads on two VMs, together
      const [versionOut, { keep, nodeSpecific, notCopied }, own, keptOut] = await Promise.all([
        runOk(deps, ref.target, cmd.k3sVersion()),
        joinFlags(healthyNode),
        ownNodeArgs(node),
        runOk(deps, stale.target, cmd.listK3sEtcBackup()),
      ]);
      const version = parseK3sVersion(versionOut.stdout);
      const serverFlags = [...keep, ...own];
      checkVersionAndFlags(version, serverFlags);
      const facts = { node, healthyNode, staleMemberName, version, serverFlags, jobKey: jobKeyOfRun() };
      const p = installParams(facts);
      const kept = lastLines(keptOut.stdout, 5);
      const plan = planOf(
        describeTarget(stale.target),
        [`# join token read from ${healthyNode}:${cmd.K3S_TOKEN_FILE}`, ...cmd.installPlanLines(p)],
        {
          node, healthyNode, version, serverFlags: serverFlags.join(' '), serverUrl: p.serverUrl, installScriptUrl: p.installScriptUrl,
          notCopied: [...(nodeSpecific.length ? [`${healthyNode}'s own ${nodeSpecific.join(' ')}`] : []), ...notCopied].join('; ') || 'none',
          ownFlags: own.join(' ') || 'none',
          restored: kept.join(', ') || 'nothing kept',
        },
      );
      return { plan, facts };
    },

    /**
     * Installs K3s pinned to the cluster's version and flags, once: this run's install job is looked for
     * first (a retry after a lost attempt waits for it, never starts a second one), then started detached
     * with the join token on stdin, then awaited; done when etcd lists the node's member started and the
     * node is Ready, read through the healthy node.
     */
    async installK3s(facts: InstallFacts) {
      const f = { ...facts, jobKey: facts.jobKey ?? jobKeyOfRun() };
      checkVersionAndFlags(f.version, f.serverFlags);
      if (!/^[0-9a-f]{12}$/.test(f.jobKey)) throw ApplicationFailure.nonRetryable(`bad install job key ${JSON.stringify(f.jobKey)}`, 'BadInput');
      const stale = nodeRef(inv, f.node);
      const healthy = nodeRef(inv, f.healthyNode);
      const evidence: string[] = [];
      let job = await installJob(f.node, f.jobKey);
      if (job.state === 'none') {
        const probe = await probeInstall(f.node);
        if (probe.version && probe.memberName && probe.memberName === f.staleMemberName) {
          throw ApplicationFailure.nonRetryable(
            `${f.node} still has the old K3s install (etcd member ${probe.memberName}): the uninstall must run first`,
            'PreconditionFailed',
          );
        }
        if (probe.version || probe.hasUninstall) {
          // installed by someone else: done only if it has joined, never installed over
          const joined = await readJoined(f.node, f.healthyNode);
          if (joined.ok && probe.version === f.version) {
            return { evidence: [`K3s ${probe.version} is already installed on ${f.node} and joined (${joined.seen})`] };
          }
          throw ApplicationFailure.nonRetryable(
            `${f.node} has K3s ${probe.version ?? '(no binary)'} that this run did not install and that has not joined the cluster at ${f.version} (${joined.seen}): uninstall it first`,
            'PreconditionFailed',
          );
        }
        // the join server must be serving before the join starts (a cluster just rebooted is not yet)
        let server = await joinServerState(f.healthyNode);
        for (const until = Date.now() + 180_000; !server.ready && Date.now() < until; server = await joinServerState(f.healthyNode)) {
          heartbeat(`waiting for the join server ${f.healthyNode}: ${server.seen}`);
          await sleep(2_000);
        }
        if (!server.ready) {
          throw ApplicationFailure.nonRetryable(`the join server ${f.healthyNode} is not serving after 3 min (${server.seen}): nothing was started on ${f.node}`, 'PreconditionFailed');
        }
        evidence.push(`join server ${f.healthyNode}: ${server.seen}`);
        const token = (await runOk(deps, healthy.target, cmd.readToken())).stdout.trim();
        if (!TOKEN.test(token)) {
          throw ApplicationFailure.nonRetryable(`the join token on ${f.healthyNode} has an unexpected format`, 'PreconditionFailed');
        }
        const res = await deps.exec.run(stale.target, cmd.startInstallJob(installParams(f)), activityRunOptions({ stdin: `${token}\n`, secrets: [token] }));
        if (res.exitCode !== 0) {
          // nothing was started: a failed download or a changed config.yaml needs someone to look
          throw ApplicationFailure.nonRetryable(`the K3s install on ${f.node} did not start (exit ${res.exitCode}): ${tail(res.stderr || res.stdout, 400, [token])}`, 'InstallFailed');
        }
        evidence.push(`${f.node}: ${res.stdout.trim()} (${cmd.installJobDir(f.jobKey)})`);
        job = await installJob(f.node, f.jobKey);
      } else {
        evidence.push(`${f.node}: this run's install job was already there (${job.state}): waited for it, started nothing`);
      }
      const deadline = Date.now() + 600_000;
      for (let lostSince = 0; job.state !== 'done'; job = await installJob(f.node, f.jobKey)) {
        if (job.state === 'lost' || job.state === 'starting') {
          lostSince ||= Date.now();
          if (job.state === 'lost' || Date.now() - lostSince > 30_000) {
            throw ApplicationFailure.nonRetryable(
              `the K3s install on ${f.node} stopped without an exit status (VM rebooted?): read ${cmd.installJobDir(f.jobKey)}/log, uninstall and run again. Last lines: ${tail(job.log)}`,
              'InstallFailed',
            );
          }
        }
        if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`the K3s install on ${f.node} still runs after 10 min: ${tail(job.log)}`, 'InstallFailed');
        heartbeat(`install job ${job.state}`);
        await sleep(2_000);
      }
      if (job.rc !== 0) {
        throw ApplicationFailure.nonRetryable(`the K3s install on ${f.node} exited ${job.rc}: ${tail(job.log)}`, 'InstallFailed');
      }
      evidence.push(`install.sh exited 0: ${lastLines(redact(job.log), 3).join(' | ')}`);
      // post-condition through a second path: etcd and the API as the healthy node sees them
      let joined = await readJoined(f.node, f.healthyNode);
      for (const until = Date.now() + 180_000; !joined.ok && Date.now() < until; joined = await readJoined(f.node, f.healthyNode)) {
        heartbeat(joined.seen);
        await sleep(2_000);
      }
      if (!joined.ok) {
        throw ApplicationFailure.nonRetryable(`install.sh exited 0 on ${f.node} but it has not joined: ${joined.seen}`, 'PostconditionFailed');
      }
      await runOk(deps, stale.target, cmd.dropK3sEtcBackup());
      return { evidence: [...evidence, `installed K3s ${f.version} on ${f.node} joining ${f.healthyNode}`, `read through ${f.healthyNode}: ${joined.seen}`] };
    },

    /** Polls `kubectl get nodes` on the healthy node until the rejoined node is Ready, heartbeating. */
    async waitForNodeReady({ node, healthyNode, timeoutSeconds }: { node: string; healthyNode: string; timeoutSeconds: number }) {
      nodeRef(inv, node);
      const deadline = Date.now() + timeoutSeconds * 1000;
      let last = 'not listed';
      for (;;) {
        const found = (await kubeNodes(healthyNode)).find((n) => n.name === node);
        last = found ? `Ready=${found.ready}` : 'not listed';
        if (found?.ready === 'True') {
          return { evidence: [`kubectl: node ${node} Ready=True (kubelet ${found.kubeletVersion})`] };
        }
        if (Date.now() > deadline) {
          throw ApplicationFailure.nonRetryable(
            `node ${node} was not Ready within ${timeoutSeconds}s (last seen: ${last}); check \`journalctl -u k3s\` on it`,
            'NodeNotReady',
          );
        }
        heartbeat(last);
        await sleep(2_000);
      }
    },
  };
}

function lastLines(text: string, n: number): string[] {
  return text.trim().split('\n').filter(Boolean).slice(-n);
}

