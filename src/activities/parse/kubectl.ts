// Parses `kubectl get nodes -o json` into what the runbooks check: readiness, version, address.
import { ApplicationFailure } from '@temporalio/common';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface KubeNode {
  name: string;
  /** The Ready condition's status; `Unknown` also when the condition is missing. */
  ready: ConditionStatus;
  kubeletVersion: string;
  /** '' when the node reports no InternalIP. */
  internalIP: string;
  /** From `node-role.kubernetes.io/<role>` labels, e.g. control-plane, etcd, master. */
  roles: string[];
}

interface RawNode {
  metadata?: { name?: unknown; labels?: Record<string, unknown> };
  status?: {
    addresses?: Array<{ type?: unknown; address?: unknown }>;
    conditions?: Array<{ type?: unknown; status?: unknown }>;
    nodeInfo?: { kubeletVersion?: unknown };
  };
}

function bad(detail: string): never {
  throw ApplicationFailure.nonRetryable(`unexpected kubectl get nodes -o json output: ${detail}`, 'UnexpectedOutput');
}

export function parseNodesJson(text: string): KubeNode[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    bad(`not JSON: ${JSON.stringify(text.trim().slice(0, 200))}`);
  }
  const items = (doc as { items?: unknown })?.items;
  if (!Array.isArray(items)) bad('no "items" array');
  return (items as RawNode[]).map((n) => {
    const name = n.metadata?.name;
    if (typeof name !== 'string') bad('a node without metadata.name');
    const readyStatus = n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const ready: ConditionStatus = readyStatus === 'True' || readyStatus === 'False' ? readyStatus : 'Unknown';
    const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const version = n.status?.nodeInfo?.kubeletVersion;
    const roles = Object.keys(n.metadata?.labels ?? {})
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length))
      .sort();
    return {
      name,
      ready,
      kubeletVersion: typeof version === 'string' ? version : '',
      internalIP: typeof ip === 'string' ? ip : '',
      roles,
    };
  });
}
