// Parses `pvesh get /cluster/resources --type vm --output-format json`: pve-manager
// PVE/API2/Cluster.pm `resources` lists every guest of pmxcfs' .vmlist (the configs of all nodes,
// pve-cluster src/pmxcfs/status.c vmlist), each built by PVE/API2Tools.pm extract_vm_stats:
// {id: "<type>/<vmid>", vmid, node, type: qemu|lxc, status ('unknown' until the rrd has it), name, ...}.
// pve-common CLIFormatter prints json as one line of canonical JSON.
import { ApplicationFailure } from '@temporalio/common';

export interface ClusterGuest {
  vmid: number;
  node: string;
  type: 'qemu' | 'lxc';
  status: string;
  name: string | null;
}

export function parseClusterGuests(text: string): ClusterGuest[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw ApplicationFailure.nonRetryable(`pvesh get /cluster/resources printed no JSON: ${JSON.stringify(text.trim().slice(0, 200))}`, 'UnexpectedOutput');
  }
  if (!Array.isArray(data)) throw ApplicationFailure.nonRetryable('pvesh get /cluster/resources: expected a JSON array', 'UnexpectedOutput');
  const out: ClusterGuest[] = [];
  for (const e of data as Record<string, unknown>[]) {
    if (!e || (e.type !== 'qemu' && e.type !== 'lxc')) continue;
    if (typeof e.vmid !== 'number' || typeof e.node !== 'string') {
      throw ApplicationFailure.nonRetryable(`pvesh get /cluster/resources: a guest entry without vmid/node: ${JSON.stringify(e).slice(0, 200)}`, 'UnexpectedOutput');
    }
    out.push({ vmid: e.vmid, node: e.node, type: e.type, status: typeof e.status === 'string' ? e.status : 'unknown', name: typeof e.name === 'string' ? e.name : null });
  }
  return out;
}
