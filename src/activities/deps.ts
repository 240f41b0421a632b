// What every activity needs: the inventory and the exec layer, created once per worker.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Inventory, K3sNode } from '../inventory/schema';
import { redact } from './exec/redact';
import { describeTarget } from './exec/targets';
import type { CommandResult, Executor, RunOptions, Target } from './exec/types';

// one wording for a target in plans and errors ("still-fawn VM 108"), from the exec layer
export { describeTarget };

export interface ActivityDeps {
  inventory: Inventory;
  exec: Executor;
}

export interface NodeRef {
  name: string;
  node: K3sNode;
  target: Target;
}

/** A K3s node from the inventory, or a non-retryable BadInput listing the known ones. */
export function nodeRef(inventory: Inventory, name: string): NodeRef {
  const node = inventory.k3s.nodes[name];
  if (!node) {
    throw ApplicationFailure.nonRetryable(
      `unknown K3s node "${name}" (inventory has: ${Object.keys(inventory.k3s.nodes).join(', ')})`,
      'BadInput',
    );
  }
  return { name, node, target: { kind: 'vm', host: node.host, vmid: node.vmid } };
}

/** Run options bound to the current activity: heartbeat while running, close the channel on cancel.
 * A local activity (a read-only check) cannot heartbeat: core would log a warning for each one. */
export function activityRunOptions(extra: RunOptions = {}): RunOptions {
  try {
    const ctx = Context.current();
    if (ctx.info.isLocal) return { signal: ctx.cancellationSignal, ...extra };
    return { signal: ctx.cancellationSignal, onProgress: () => ctx.heartbeat(), ...extra };
  } catch {
    return extra; // not inside an activity (unit tests)
  }
}


/** Runs a script and insists on exit 0; the error names the target and quotes stderr (secrets masked, see redact). */
export async function runOk(deps: ActivityDeps, target: Target, script: string, extra: RunOptions = {}): Promise<CommandResult> {
  const res = await deps.exec.run(target, script, activityRunOptions(extra));
  if (res.exitCode !== 0) {
    const secrets = extra.secrets ?? [];
    throw new Error(
      `on ${describeTarget(target)}: \`${firstLine(script, secrets)}\` exited ${res.exitCode ?? res.signal}: ${tail(res.stderr || res.stdout, 400, secrets)}`,
    );
  }
  return res;
}

/** The end of a command's output for a message: secrets masked first, then clipped (a clip never halves a secret). */
export function tail(text: string, max = 400, secrets: readonly string[] = []): string {
  const t = redact(text, secrets).trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

function firstLine(script: string, secrets: readonly string[]): string {
  const line = redact(script.split('\n')[0] ?? '', secrets);
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}
