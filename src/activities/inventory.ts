// Reading the inventory for a run: the facts a workflow may keep in its history (no secrets).
import { ApplicationFailure } from '@temporalio/common';
import { nameSchema } from '../inventory/schema';
import { nodeRef, type ActivityDeps } from './deps';

export interface NodeFacts {
  evidence: string[];
  name: string;
  host: string;
  vmid: number;
  address: string;
  gpuPassthrough: boolean;
  approvers: string[];
  peers: string[];
  /** The target is the lab in this directory (inventory `lab`): manual steps name its verbs. */
  lab?: { dir: string };
}

export function inventoryActivities(deps: ActivityDeps) {
  return {
    /** The K3s node to work on, with its Proxmox host and VM, and who may approve. */
    async describeK3sNode({ node }: { node: string }): Promise<NodeFacts> {
      if (typeof node !== 'string' || !nameSchema.safeParse(node).success) {
        throw ApplicationFailure.nonRetryable(
          `input "node" must be a K3s node name (lowercase letters, digits and -), got ${JSON.stringify(node)}`,
          'BadInput',
        );
      }
      const { node: n } = nodeRef(deps.inventory, node);
      const peers = Object.keys(deps.inventory.k3s.nodes).filter((p) => p !== node);
      return {
        name: node,
        host: n.host,
        vmid: n.vmid,
        address: n.address,
        gpuPassthrough: n.gpuPassthrough,
        approvers: deps.inventory.approvers,
        peers,
        ...(deps.inventory.lab ? { lab: { dir: deps.inventory.lab.dir } } : {}),
        evidence: [
          `${node}: VM ${n.vmid} on ${n.host}, address ${n.address}${n.gpuPassthrough ? ', needs GPU passthrough' : ''}`,
          `other server nodes: ${peers.join(', ') || 'none'}`,
        ],
      };
    },
  };
}
