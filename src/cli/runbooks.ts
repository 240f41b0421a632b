// The runbooks the CLI can start: workflow type, what the run needs, and its default workflow ID
// (one run per target at a time: starting a second one is refused by Temporal, not doubled).
import { CliError, EXIT } from './exit';

export interface StartRequest {
  node?: string;
  dryRun: boolean;
  by: string;
  gateDeadline?: string;
  readyTimeout?: number;
  soak?: string;
  /** Extra fields of the runbook's input, as JSON (e.g. '{"grace": "48h"}'). */
  input?: string;
}

interface RunbookEntry {
  workflowType: string;
  about: string;
  needsNode: boolean;
  summary: (r: StartRequest) => string;
  /** Fields of this runbook's input beyond the common ones. */
  input: (r: StartRequest) => Record<string, unknown>;
}

export const RUNBOOKS: Record<string, RunbookEntry> = {
  'k3s-rejoin': {
    workflowType: 'k3sRejoin',
    about: 'bring a stale K3s server node back into its etcd cluster',
    needsNode: true,
    summary: (r) => `Rejoin ${r.node} to the K3s cluster`,
    input: (r) => ({ node: r.node, ...(r.readyTimeout ? { readyTimeoutSeconds: r.readyTimeout } : {}) }),
  },
  'pbs-migration': {
    workflowType: 'pbsMigration',
    about: 'Phase 2: move the PBS datastore with its disk to another host',
    needsNode: false,
    summary: () => 'Move the PBS datastore and its disk',
    input: () => ({}),
  },
  'frigate-migration': {
    workflowType: 'frigateMigration',
    about: 'Phase 3: move Frigate from its LXC into K3s (Coral TPU, VAAPI)',
    needsNode: false,
    summary: () => 'Move Frigate into K3s',
    input: () => ({}),
  },
  'lxc-retirement': {
    workflowType: 'lxcRetirement',
    about: 'Phase 4: back up, stop and destroy the old Frigate LXC',
    needsNode: false,
    summary: () => 'Retire the old Frigate LXC',
    input: () => ({}),
  },
  'recovery-program': {
    workflowType: 'recoveryProgram',
    about: 'rejoin → soak (default 7d) → Phases 2, 3 and 4, each a child run',
    needsNode: true,
    summary: (r) => `Recovery program for ${r.node}: rejoin, soak ${r.soak ?? '7d'}, PBS, Frigate, LXC retirement`,
    input: (r) => ({ node: r.node, ...(r.soak ? { soak: r.soak } : {}) }),
  },
};

export function runbookEntry(name: string): RunbookEntry {
  const entry = RUNBOOKS[name];
  if (!entry) throw new CliError(`unknown runbook "${name}" (known: ${Object.keys(RUNBOOKS).join(', ')})`, EXIT.failed);
  return entry;
}

/** The run's one input object: runbook fields, --input JSON, then the common fields. */
export function startInput(name: string, r: StartRequest): Record<string, unknown> {
  const entry = runbookEntry(name);
  if (entry.needsNode && !r.node) throw new CliError(`${name} needs --node <k3s node>`, EXIT.failed);
  let extra: unknown = {};
  if (r.input !== undefined) {
    try {
      extra = JSON.parse(r.input);
    } catch {
      throw new CliError(`--input must be a JSON object, e.g. '{"grace": "48h"}'`, EXIT.failed);
    }
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new CliError('--input must be a JSON object', EXIT.failed);
  }
  return {
    ...entry.input(r),
    ...(extra as object),
    dryRun: r.dryRun,
    requestedBy: r.by,
    ...(r.gateDeadline ? { gateDeadline: r.gateDeadline } : {}),
  };
}

export function defaultWorkflowId(name: string, r: StartRequest): string {
  return `${name}${r.node ? `-${r.node}` : ''}${r.dryRun ? '-dry-run' : ''}`;
}
