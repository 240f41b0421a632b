// K3s on the nodes: the cluster's version and flags, removing the stale node, the clean uninstall,
// the pinned fresh install (the join token lives only inside installK3s), and waiting for Ready.
import { heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityRunOptions, describeTarget, nodeRef, runOk, tail, type ActivityDeps } from '../deps';

import { validMemberId, validVersion } from '../exec/quote';
import type { StepPlan } from '../../workflows/runbook/types';
import { parseK3sVersion, parseK3sUnitExecStart, serverFlagsForJoin } from '../parse/k3s';
import { parseNodesJson } from '../parse/kubectl';
import { parseMemberListJson } from '../parse/etcdctl';
import * as cmd from './commands';

export interface RejoinFacts {
  node: string;
  healthyNode: string;
  /** Hex ID of the stale etcd member, or null when it is already gone. */
  staleMemberId: string | null;
  staleMemberName: string | null;
  version: string;
  serverFlags: string[];
}

const FLAG = /^[A-Za-z0-9][A-Za-z0-9=,._:/@+-]*$|^--?[A-Za-z0-9][A-Za-z0-9=,._:/@+-]*$/;
const TOKEN = /^[A-Za-z0-9:._+/=-]{16,512}$/;

export function k3sActivities(deps: ActivityDeps) {
  const inv = deps.inventory;

  function checkFacts(f: RejoinFacts): void {
    nodeRef(inv, f.node);
    nodeRef(inv, f.healthyNode);
    if (f.staleMemberId !== null) validMemberId(f.staleMemberId);
    validVersion(f.version);
    for (const flag of f.serverFlags) {
      if (!FLAG.test(flag)) throw ApplicationFailure.nonRetryable(`unsafe K3s server flag ${JSON.stringify(flag)}`, 'BadInput');
    }
  }

  function installParams(f: RejoinFacts, token: string): cmd.InstallParams {
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

  return {
    /** `k3s --version` and the server flags of the unit install.sh wrote, on a healthy server. */
    async readClusterVersion({ healthyNode }: { healthyNode: string }) {
      const ref = nodeRef(inv, healthyNode);
      const version = parseK3sVersion((await runOk(deps, ref.target, cmd.k3sVersion())).stdout);
      const args = parseK3sUnitExecStart((await runOk(deps, ref.target, cmd.readUnit())).stdout);
      const serverFlags = serverFlagsForJoin(args);
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

    /** The commands of every change, rendered exactly as they will run (join token masked). */
    async planRejoin(f: RejoinFacts): Promise<Record<'removeStaleNode' | 'uninstallK3s' | 'installK3s', StepPlan>> {
      checkFacts(f);
      const healthy = nodeRef(inv, f.healthyNode);
      const stale = nodeRef(inv, f.node);
      return {
        removeStaleNode: {
          target: describeTarget(healthy.target),
          commands: [
            cmd.kubectlDeleteNode(f.node),
            ...(f.staleMemberId ? [cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', f.staleMemberId])] : []),
          ],
        },
        uninstallK3s: { target: describeTarget(stale.target), commands: cmd.uninstallK3s() },
        installK3s: {
          target: describeTarget(stale.target),
          commands: [`# join token read from ${f.healthyNode}:${cmd.K3S_TOKEN_FILE}`, cmd.installK3s(installParams(f, cmd.TOKEN_MASK))],
        },
      };
    },

    /** `kubectl delete node` if the node object exists, then `member remove` if the member is still listed. */
    async removeStaleNode(f: RejoinFacts) {
      checkFacts(f);
      const healthy = nodeRef(inv, f.healthyNode);
      const evidence: string[] = [];
      if ((await kubeNodes(f.healthyNode)).some((n) => n.name === f.node)) {
        const res = await runOk(deps, healthy.target, cmd.kubectlDeleteNode(f.node));
        evidence.push(`kubectl delete node ${f.node} → ${res.stdout.trim()}`);
      } else {
        evidence.push(`node ${f.node} is not in the cluster (already deleted)`);
      }
      if (f.staleMemberId) {
        const list = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'list', '-w', 'json']));
        const listed = parseMemberListJson(list.stdout).find((m) => m.id === f.staleMemberId);
        if (listed) {
          const res = await runOk(deps, healthy.target, cmd.etcdctl(inv, healthy.node.etcdEndpoint, ['member', 'remove', f.staleMemberId]));
          evidence.push(res.stdout.trim());
        } else {
          evidence.push(`etcd member ${f.staleMemberId} is no longer listed (already removed)`);
        }
      }
      return { evidence };
    },

    /** `systemctl stop k3s || true`, then the official k3s-uninstall.sh; never rm -rf. */
    async uninstallK3s(f: RejoinFacts) {
      checkFacts(f);
      const stale = nodeRef(inv, f.node);
      const state = await deps.exec.run(
        stale.target,
        `test -x ${cmd.K3S_UNINSTALL} && echo script; test -e /var/lib/rancher/k3s && echo data; true`,
        activityRunOptions(),
      );
      const has = new Set(state.stdout.split('\n').map((l) => l.trim()));
      if (!has.has('script')) {
        if (has.has('data')) {
          throw ApplicationFailure.nonRetryable(
            `${f.node} has /var/lib/rancher/k3s but no ${cmd.K3S_UNINSTALL}: clean it up by hand (this runbook never runs rm -rf)`,
            'PreconditionFailed',
          );
        }
        return { evidence: [`K3s is not installed on ${f.node} (already uninstalled)`] };
      }
      const [stop, uninstall] = cmd.uninstallK3s();
      await runOk(deps, stale.target, stop!);
      const res = await runOk(deps, stale.target, uninstall!, { timeoutMs: 300_000 });
      return { evidence: [`${stop} → ok`, `${uninstall} → exit 0`, ...lastLines(res.stderr, 3)] };
    },

    /** Reads the join token on the healthy node and installs K3s pinned to the cluster's version and flags. */
    async installK3s(f: RejoinFacts) {
      checkFacts(f);
      const stale = nodeRef(inv, f.node);
      const healthy = nodeRef(inv, f.healthyNode);
      const probe = await deps.exec.run(
        stale.target,
        `test -x /usr/local/bin/k3s && k3s --version | head -n1; echo "name=$(cat ${cmd.ETCD_NAME_FILE} 2>/dev/null)"`,
        activityRunOptions(),
      );
      const memberName = /name=(.*)/.exec(probe.stdout)?.[1]?.trim() ?? '';
      const installed = /k3s version (\S+)/.exec(probe.stdout)?.[1];
      if (installed && memberName && memberName === f.staleMemberName) {
        throw ApplicationFailure.nonRetryable(
          `${f.node} still has the old K3s install (etcd member ${memberName}): the uninstall must run first`,
          'PreconditionFailed',
        );
      }
      if (installed && memberName) {
        if (installed !== f.version) {
          throw ApplicationFailure.nonRetryable(`${f.node} runs K3s ${installed}, not the cluster's ${f.version}`, 'PreconditionFailed');
        }
        return { evidence: [`K3s ${installed} is already installed on ${f.node} as etcd member ${memberName}`] };
      }
      const token = (await runOk(deps, healthy.target, cmd.readToken())).stdout.trim();
      if (!TOKEN.test(token)) {
        throw ApplicationFailure.nonRetryable(`the join token on ${f.healthyNode} has an unexpected format`, 'PreconditionFailed');
      }
      const res = await deps.exec.run(
        stale.target,
        cmd.installK3s(installParams(f, token)),
        activityRunOptions({ timeoutMs: 600_000, secrets: [token] }),
      );
      const output = redactAll(`${res.stdout}\n${res.stderr}`, token);
      if (res.exitCode !== 0) {
        // a failed install is not retried blindly: it needs someone to read why
        throw ApplicationFailure.nonRetryable(
          `the K3s install on ${f.node} exited ${res.exitCode}: ${tail(output)}`,
          'InstallFailed',
        );
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

