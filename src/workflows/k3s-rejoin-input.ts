// The rejoin's single object input (the UI's Start Workflow form sends one JSON value), checked
// before any step runs so a typo ends the run at once instead of failing a step later.
import { badInput, checkCommonInput, type CheckedCommon, type CommonInput } from './runbook/input';

export interface K3sRejoinInput extends CommonInput {
  /** The K3s node to bring back, e.g. "k3s-vm-still-fawn". */
  node: string;
  /** How long to wait for the node to be Ready after the install. Default 300. */
  readyTimeoutSeconds?: number;
}

export const REJOIN_CHANGE_STEPS = ['remove-stale-node', 'uninstall-k3s', 'install-k3s'];

export interface RejoinInput extends CheckedCommon {
  node: string;
  readyTimeoutSeconds: number;
}

export function checkRejoinInput(input: unknown): RejoinInput {
  const { i, common } = checkCommonInput(input, {
    fields: ['node', 'readyTimeoutSeconds'],
    changeSteps: REJOIN_CHANGE_STEPS,
    irreversibleSteps: ['remove-stale-node', 'uninstall-k3s'],
    example: '{"node": "k3s-vm-still-fawn"}',
  });
  if (typeof i.node !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(i.node)) {
    throw badInput(`"node" must be a K3s node name (lowercase letters, digits, -), got ${JSON.stringify(i.node)}`);
  }
  const t = i.readyTimeoutSeconds;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 10 || t > 86_400)) {
    throw badInput('"readyTimeoutSeconds" must be a whole number of seconds from 10 to 86400');
  }
  return { ...common, node: i.node, readyTimeoutSeconds: (t as number | undefined) ?? 300 };
}
