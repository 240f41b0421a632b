// K3s on the nodes: the cluster's version and flags, removing the stale node, the clean uninstall,
// the pinned fresh install (the join token lives only inside installK3s), and waiting for Ready.
import { heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityRunOptions, describeTarget, nodeRef, runOk, tail, type ActivityDeps } from '../deps';

import { validMemberId, validVersion } from '../exec/quote';
import { parseEndpointHealthJson } from '../parse/etcdctl';
import type { Planned } from '../../workflows/runbook/types';
import { planOf } from '../plan';
import { parseK3sVersion, parseK3sUnitExecStart, serverFlagsForJoin } from '../parse/k3s';
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

  function installParams(f: InstallFacts, token: string): cmd.InstallParams {
    const healthy = nodeRef(inv, f.healthyNode);
    return {
      installScriptUrl: inv.k3s.installScriptUrl,
      version: f.version,
      serverUrl: cmd.serverUrl(healthy.node.address, inv.k3s.apiPort),
      token,
      serverFlags: f.serverFlags,
    };
  }

  async function kubeNodes(reader: string) {
    const res = await runOk(deps, nodeRef(inv, reader).target, cmd.kubectlGetNodes());
    return parseNodesJson(res.stdout);
  }

  /** Is the member listed, and is it healthy now? (read through the healthy node) */
  async function memberState(healthyNode: string, id: string): Promise<{ listed: boolean; healthy: boolean }> {
    const healthy = nodeRef(inv, healthyNode);
    const list = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'list', '-w', 'json']));
    const member = parseMemberListJson(list.stdout).find((m) => m.id === id);
    if (!member) return { listed: false, healthy: false };
    if (member.clientURLs.length === 0) return { listed: true, healthy: false };
    // the member's own endpoints, asked from the healthy node (a dead one answers health:false)
    const res = await deps.exec.run(
      healthy.target,
      cmd.etcdctl(inv, member.clientURLs.join(','), ['endpoint', 'health', '-w', 'json']),
      activityRunOptions({ timeoutMs: 30_000 }),
    );
    const health = parseEndpointHealthJson(res.stdout);
    return { listed: true, healthy: health.length > 0 && health.every((h) => h.health) };
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
      const version = parseK3sVersion((await runOk(deps, ref.target, cmd.k3sVersion())).stdout);
      const args = parseK3sUnitExecStart((await runOk(deps, ref.target, cmd.readUnit())).stdout);
      const serverFlags = serverFlagsForJoin(args);
      checkVersionAndFlags(version, serverFlags);
      const nodes = await kubeNodes(healthyNode);
      const versions = [...new Set(nodes.map((n) => n.kubeletVersion).filter(Boolean))];
      return {
        version,
        serverFlags,
        evidence: [
          `${healthyNode}: k3s --version → ${version}`,
          `kubelet versions in the cluster: ${versions.join(', ') || 'none'}`,
          `${healthyNode} runs: k3s ${args.join(' ')}`,
          `a joining server gets: ${serverFlags.join(' ') || '(no extra flags)'}`,
        ],
      };
    },

    /** Preflight of the removal: what is still there to remove, rendered as the commands that will run. */
    async planStaleNodeRemoval({ node, healthyNode, staleMemberId }: { node: string; healthyNode: string; staleMemberId: string | null }): Promise<Planned<RemoveFacts>> {
      nodeRef(inv, node);
      const healthy = nodeRef(inv, healthyNode);
      if (staleMemberId !== null) validMemberId(staleMemberId);
      const deleteNode = (await kubeNodes(healthyNode)).some((n) => n.name === node);
      const member = staleMemberId ? await memberState(healthyNode, staleMemberId) : { listed: false, healthy: false };
      if (member.healthy) {
        throw ApplicationFailure.nonRetryable(`etcd member ${staleMemberId} of ${node} is healthy again: it is not stale, refusing to remove it`, 'PreconditionFailed');
      }
      const removeMemberId = member.listed ? staleMemberId : null;
      const commands = [
        ...(deleteNode ? [cmd.kubectlDeleteNode(node)] : []),
        ...(removeMemberId ? [cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', removeMemberId])] : []),
      ];
      const plan = planOf(describeTarget(healthy.target), commands.length ? commands : ['# nothing left to remove'], {
        node,
        healthyNode,
        nodeObject: deleteNode ? 'present' : 'absent',
        staleMember: removeMemberId ?? 'not listed',
      });
      return { plan, facts: { node, healthyNode, deleteNode, removeMemberId } };
    },

    /** `kubectl delete node` if the node object exists, then `member remove` if the member is still listed. */
    async removeStaleNode(f: RemoveFacts) {
      const healthy = nodeRef(inv, f.healthyNode);
      nodeRef(inv, f.node);
      const evidence: string[] = [];
      if ((await kubeNodes(f.healthyNode)).some((n) => n.name === f.node)) {
        const res = await runOk(deps, healthy.target, cmd.kubectlDeleteNode(f.node));
        evidence.push(`kubectl delete node ${f.node} → ${res.stdout.trim()}`);
      } else {
        evidence.push(`node ${f.node} is not in the cluster (already deleted)`);
      }
      if (f.removeMemberId) {
        validMemberId(f.removeMemberId);
        const { listed } = await memberState(f.healthyNode, f.removeMemberId);
        if (listed) {
          const res = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', f.removeMemberId]));
          evidence.push(res.stdout.trim());
        } else {
          evidence.push(`etcd member ${f.removeMemberId} is no longer listed (already removed)`);
        }
      }
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
      const [stop, uninstall] = cmd.uninstallK3s();
      await runOk(deps, stale.target, stop!);
      const res = await runOk(deps, stale.target, uninstall!, { timeoutMs: 300_000 });
      return { evidence: [`${stop} → ok`, `${uninstall} → exit 0`, ...lastLines(res.stderr, 3)] };
    },

    /** Preflight of the install: the cluster's version and flags read again, the install line rendered (token masked). */
    async planInstall({ node, healthyNode, staleMemberName }: { node: string; healthyNode: string; staleMemberName: string | null }): Promise<Planned<InstallFacts>> {
      const stale = nodeRef(inv, node);
      const ref = nodeRef(inv, healthyNode);
      const version = parseK3sVersion((await runOk(deps, ref.target, cmd.k3sVersion())).stdout);
      const serverFlags = serverFlagsForJoin(parseK3sUnitExecStart((await runOk(deps, ref.target, cmd.readUnit())).stdout));
      checkVersionAndFlags(version, serverFlags);
      const facts: InstallFacts = { node, healthyNode, staleMemberName, version, serverFlags };
      const p = installParams(facts, cmd.TOKEN_MASK);
      const plan = planOf(
        describeTarget(stale.target),
        [`# join token read from ${healthyNode}:${cmd.K3S_TOKEN_FILE}`, cmd.installK3s(p)],
        { node, healthyNode, version, serverFlags: serverFlags.join(' '), serverUrl: p.serverUrl, installScriptUrl: p.installScriptUrl },
      );
      return { plan, facts };
    },

    /** Reads the join token on the healthy node and installs K3s pinned to the cluster's version and flags. */
    async installK3s(f: InstallFacts) {
      checkVersionAndFlags(f.version, f.serverFlags);
      const stale = nodeRef(inv, f.node);
      const healthy = nodeRef(inv, f.healthyNode);
      const probe = await probeInstall(f.node);
      if (probe.version && probe.memberName && probe.memberName === f.staleMemberName) {
        throw ApplicationFailure.nonRetryable(
          `${f.node} still has the old K3s install (etcd member ${probe.memberName}): the uninstall must run first`,
          'PreconditionFailed',
        );
      }
      if (probe.version && probe.memberName) {
        if (probe.version !== f.version) {
          throw ApplicationFailure.nonRetryable(`${f.node} runs K3s ${probe.version}, not the cluster's ${f.version}`, 'PreconditionFailed');
        }
        return { evidence: [`K3s ${probe.version} is already installed on ${f.node} as etcd member ${probe.memberName}`] };
      }
      const token = (await runOk(deps, healthy.target, cmd.readToken())).stdout.trim();
      if (!TOKEN.test(token)) {
        throw ApplicationFailure.nonRetryable(`the join token on ${f.healthyNode} has an unexpected format`, 'PreconditionFailed');
      }
      const res = await deps.exec.run(stale.target, cmd.installK3s(installParams(f, token)), activityRunOptions({ timeoutMs: 600_000, secrets: [token] }));
      const output = redactAll(`${res.stdout}\n${res.stderr}`, token);
      if (res.exitCode !== 0) {
        // a failed install is not retried blindly: it needs someone to read why
        throw ApplicationFailure.nonRetryable(`the K3s install on ${f.node} exited ${res.exitCode}: ${tail(output)}`, 'InstallFailed');
      }
      return { evidence: [`installed K3s ${f.version} on ${f.node} joining ${f.healthyNode}`, ...lastLines(output, 4)] };
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

function redactAll(text: string, secret: string): string {
  return secret ? text.split(secret).join(cmd.TOKEN_MASK) : text;
}
