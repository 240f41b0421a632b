// etcd as K3s runs it: cluster health with the quorum arithmetic, the stale member, the new member.
import { heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { nodeRef, runOk, type ActivityDeps, type NodeRef } from './deps';
import { etcdView, kubectlGetNodes, splitEtcdView } from './k3s/commands';
import { parseNodesJson } from './parse/kubectl';
import { parseEndpointHealthJson, parseMemberListJson, type EtcdMember } from './parse/etcdctl';

export interface ClusterView {
  members: EtcdMember[];
  health: Map<string, boolean>; // by client URL
}

export interface StaleMember {
  id: string;
  name: string;
  peerURL: string;
}

/**
 * The node a K3s member name belongs to, as K3s itself maps it back (k3s pkg/etcd/etcd.go `join`: the
 * member name cut at its LAST hyphen, when that hyphen is past index 1; `setName` writes
 * `<node name>-<8 hex of a uuid>`). `k3s-vm-pve-2-1a2b3c4d` is k3s-vm-pve-2's, never k3s-vm-pve's.
 */
export function nodeOfMemberName(name: string): string {
  const lastHyphen = name.lastIndexOf('-');
  return lastHyphen > 1 ? name.slice(0, lastHyphen) : name;
}

/** The members of `node`: by K3s's name mapping, or by a peer URL on the node's address (an unstarted member has no name). */
export function membersOf(members: EtcdMember[], ref: NodeRef): EtcdMember[] {
  return members.filter(
    (m) => (m.name !== '' && nodeOfMemberName(m.name) === ref.name) || m.peerURLs.some((u) => hostOf(u) === ref.node.address),
  );
}

/** etcdView's output: the members, and each client URL's health (an unlisted URL was not probed). */
export function parseView(stdout: string): ClusterView {
  const { memberList, health } = splitEtcdView(stdout);
  const members = parseMemberListJson(memberList);
  return { members, health: new Map(parseEndpointHealthJson(health).map((h) => [h.endpoint, h.health] as const)) };
}

/** A member is healthy when it has client URLs and every one answered the health probe. */
export function memberHealthy(v: ClusterView, m: EtcdMember): boolean {
  return m.clientURLs.length > 0 && m.clientURLs.every((u) => v.health.get(u) === true);
}

export function quorumOf(size: number): number {
  return Math.floor(size / 2) + 1;
}

export function etcdActivities(deps: ActivityDeps) {
  /**
   * member list + endpoint health, read through `reader`'s VM with K3s's client certificate: one
   * round trip (commands.etcdView), every member probed at once with the probe's short timeout, so a
   * dead member costs one HEALTH_PROBE_TIMEOUTS.command per view, not one per member or per command.
   */
  async function view(reader: NodeRef): Promise<ClusterView> {
    return parseView((await runOk(deps, reader.target, etcdView(deps.inventory, reader.node.etcdEndpoint))).stdout);
  }

  const describe = (v: ClusterView, m: EtcdMember) =>
    `${m.id} ${m.name || '(unstarted)'} ${m.peerURLs.join(',')}${m.isLearner ? ' learner' : ''}: ${memberHealthy(v, m) ? 'healthy' : 'NOT healthy'}`;

  /** The first other node whose VM answers etcdctl. */
  async function firstReader(node: string): Promise<{ reader: NodeRef; view: ClusterView }> {
    const errors: string[] = [];
    for (const peer of Object.keys(deps.inventory.k3s.nodes).filter((n) => n !== node)) {
      const ref = nodeRef(deps.inventory, peer);
      try {
        return { reader: ref, view: await view(ref) };
      } catch (err) {
        errors.push(`${peer}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no other K3s server answers etcdctl: ${errors.join('; ')}`);
  }

  return {
    /** Every other member healthy, and quorum kept before and after removing the stale node's member. */
    async checkClusterHealth({ node }: { node: string }) {
      const target = nodeRef(deps.inventory, node);
      const first = await firstReader(node);
      const reader = first.reader;
      const mineIn = (x: ClusterView) => new Set(membersOf(x.members, target).map((m) => m.id));
      let v = first.view;
      // another member unhealthy stops the run: with the probe's short timeout, a slow answer is asked once more first
      const sickOther = (x: ClusterView) => x.members.some((m) => !mineIn(x).has(m.id) && !memberHealthy(x, m));
      if (sickOther(v)) v = await view(reader);
      const mine = mineIn(v);
      const others = v.members.filter((m) => !mine.has(m.id));
      const healthyOthers = others.filter((m) => memberHealthy(v, m)).length;
      const before = { members: v.members.length, quorum: quorumOf(v.members.length), healthy: healthyOthers };
      const afterSize = v.members.length - mine.size;
      const after = { members: afterSize, quorum: quorumOf(afterSize), healthy: healthyOthers };
      const evidence = [
        `read through ${reader.name} (${reader.node.etcdEndpoint})`,
        ...v.members.map((m) => describe(v, m)),
        `before removal: ${before.members} members, quorum ${before.quorum}, ${before.healthy} healthy besides ${node}`,
        `after removal: ${after.members} members, quorum ${after.quorum}, tolerates ${Math.max(0, after.healthy - after.quorum)} more failure(s)`,
      ];
      if (healthyOthers < before.quorum) {
        throw ApplicationFailure.nonRetryable(
          `etcd has no quorum (${healthyOthers} healthy of ${before.members}, quorum ${before.quorum}): this needs disaster recovery, not a rejoin`,
          'NoQuorum',
          ...evidence,
        );
      }
      const sick = others.filter((m) => !memberHealthy(v, m));
      if (sick.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `the rest of the cluster must be healthy before a member is removed; unhealthy: ${sick.map((m) => m.name || m.id).join(', ')}`,
          'ClusterUnhealthy',
          ...evidence,
        );
      }
      return { healthyNode: reader.name, before, after, evidence };
    },

    /** The stale member of `node` (name prefix or peer URL), with its hex ID; null when already gone. */
    async identifyStaleMember({ node, healthyNode }: { node: string; healthyNode: string }) {
      const target = nodeRef(deps.inventory, node);
      const v = await view(nodeRef(deps.inventory, healthyNode));
      const mine = membersOf(v.members, target);
      if (mine.length === 0) {
        return { member: null as StaleMember | null, evidence: [`no etcd member of ${node} is listed (already removed)`] };
      }
      if (mine.length > 1) {
        throw ApplicationFailure.nonRetryable(
          `${mine.length} etcd members match ${node} (${mine.map((m) => `${m.id} ${m.name}`).join(', ')}): resolve by hand`,
          'Ambiguous',
        );
      }
      const m = mine[0]!;
      if (memberHealthy(v, m)) {
        throw ApplicationFailure.nonRetryable(
          `${node}'s etcd member ${m.id} (${m.name}) is healthy: there is nothing to rejoin`,
          'NothingToRejoin',
        );
      }
      const member: StaleMember = { id: m.id, name: m.name, peerURL: m.peerURLs[0] ?? '' };
      return {
        member,
        evidence: [`stale member: ID ${m.id}, name ${m.name || '(unstarted)'}, peer URL ${member.peerURL}, not healthy`],
      };
    },

    /** The new member is started (not a learner) under a new ID, the old ID is gone, every endpoint healthy. */
    async verifyRejoined({ node, healthyNode, oldMemberId }: { node: string; healthyNode: string; oldMemberId: string | null }) {
      const target = nodeRef(deps.inventory, node);
      const reader = nodeRef(deps.inventory, healthyNode);
      const deadline = Date.now() + 120_000;
      let problem = '';
      for (;;) {
        const v = await view(reader);
        const mine = membersOf(v.members, target);
        const fresh = mine.find((m) => m.id !== oldMemberId && m.name !== '' && !m.isLearner);
        const sick = v.members.filter((m) => !memberHealthy(v, m));
        problem =
          oldMemberId && v.members.some((m) => m.id === oldMemberId) ? `old member ${oldMemberId} is still listed`
          : !fresh ? `no started, promoted member of ${node} yet (${mine.map((m) => describe(v, m)).join('; ') || 'none listed'})`
          : sick.length ? `unhealthy: ${sick.map((m) => describe(v, m)).join('; ')}`
          : '';
        if (!problem) {
          return {
            memberId: fresh!.id,
            evidence: [
              `${node} joined as ${fresh!.id} (${fresh!.name})${oldMemberId ? `, old ID ${oldMemberId} gone` : ''}`,
              `${v.members.length} members, all healthy`,
              ...v.members.map((m) => describe(v, m)),
            ],
          };
        }
        if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`etcd did not settle: ${problem}`, 'NotRejoined');
        heartbeat(problem);
        await sleep(2_000);
      }
    },

    /** One soak check: the node is Ready in Kubernetes and every etcd member, its own included, is healthy. */
    async checkNodeSoak({ node }: { node: string }) {
      const target = nodeRef(deps.inventory, node);
      const { reader, view: v } = await firstReader(node);
      const nodes = parseNodesJson((await runOk(deps, reader.target, kubectlGetNodes())).stdout);
      const kube = nodes.find((n) => n.name === node);
      const mine = membersOf(v.members, target);
      const sick = v.members.filter((m) => !memberHealthy(v, m));
      const problems = [
        kube?.ready === 'True' ? '' : `node ${node} is ${kube ? `Ready=${kube.ready}` : 'not listed'}`,
        mine.length ? '' : `${node} has no etcd member`,
        sick.length ? `unhealthy etcd: ${sick.map((m) => m.name || m.id).join(', ')}` : '',
      ].filter(Boolean);
      return {
        healthy: problems.length === 0,
        evidence: problems.length
          ? problems
          : [`${node} Ready=True; ${v.members.length} etcd members all healthy (read through ${reader.name})`],
      };
    },
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}
