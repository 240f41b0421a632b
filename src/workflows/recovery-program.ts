// Program: bring the node back, watch it, then move the services onto it, phase by phase (the seed's
// still-fawn plan). Each phase is its own runbook, run as a child workflow with a stable ID; its
// gates are decided on that workflow, and this program's status shows where every phase is.
import { ParentClosePolicy, executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { PROGRAM_STEPS_IN_ORDER, checkProgramInput, phaseInputs, type RecoveryProgramInput } from './recovery-program-input';

export type { RecoveryProgramInput };

const checks = proxyActivities<RunbookActivities>({
  startToCloseTimeout: '3m',
  heartbeatTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export const RECOVERY_PROGRAM_STEPS: StepDef[] = [
  { id: 'rejoin', title: 'Phase 1: rejoin the node to the K3s cluster (k3sRejoin)', kind: 'phase',
    verifies: 'The phase ends completed; rejected, aborted or expired ends the program the same way.' },
  { id: 'soak', title: 'Soak: the node stays Ready and etcd healthy, checked every day', kind: 'soak',
    verifies: 'The node is Ready in Kubernetes and has an etcd member, and every etcd member is healthy: at once, every `checkEvery` and at the end of `soak`.' },
  { id: 'pbs-migration', title: 'Phase 2: move the PBS datastore with its disk (pbsMigration)', kind: 'phase',
    verifies: 'The phase ends completed; rejected, aborted or expired ends the program the same way.' },
  { id: 'frigate-migration', title: 'Phase 3: move Frigate into K3s on the node (frigateMigration)', kind: 'phase',
    verifies: 'The phase ends completed; rejected, aborted or expired ends the program the same way.' },
  { id: 'lxc-retirement', title: 'Phase 4: retire the old Frigate LXC (lxcRetirement)', kind: 'phase',
    verifies: 'The phase ends completed; rejected, aborted or expired ends the program the same way.' },
];

export async function recoveryProgram(rawInput: RecoveryProgramInput): Promise<RunbookResult> {
  const input = checkProgramInput(rawInput);
  const rb = new Runbook({
    name: 'recovery-program',
    target: input.node,
    dryRun: input.dryRun,
    requestedBy: input.requestedBy,
    gateDeadline: input.gateDeadline,
    // a signed start (`runbook start --key`) is verified by an activity: a path older runs never took
    startSignature: input.startSignature !== undefined && patched('program-signed-start') ? input.startSignature : undefined,
    steps: RECOVERY_PROGRAM_STEPS,
  });
  const due = (step: (typeof PROGRAM_STEPS_IN_ORDER)[number]) => {
    const run = PROGRAM_STEPS_IN_ORDER.indexOf(step) >= PROGRAM_STEPS_IN_ORDER.indexOf(input.startAt);
    if (!run) rb.skip(step, `the program was started at "${input.startAt}"`);
    return run;
  };

  const phases = phaseInputs(input);

  return rb.run(async () => {
    if (due('rejoin')) {
      await rb.phase('rejoin', phaseId('k3s-rejoin'), () => startPhase('k3sRejoin', 'k3s-rejoin', phases.rejoin));
    }
    if (due('soak')) {
      await rb.soak('soak', { duration: input.soak, every: input.checkEvery, check: () => checks.checkNodeSoak({ node: input.node }) });
    }
    if (due('pbs-migration')) {
      await rb.phase('pbs-migration', phaseId('pbs-migration'), () => startPhase('pbsMigration', 'pbs-migration', phases.pbsMigration));
    }
    if (due('frigate-migration')) {
      await rb.phase('frigate-migration', phaseId('frigate-migration'), () => startPhase('frigateMigration', 'frigate-migration', phases.frigateMigration));
    }
    if (due('lxc-retirement')) {
      await rb.phase('lxc-retirement', phaseId('lxc-retirement'), () => startPhase('lxcRetirement', 'lxc-retirement', phases.lxcRetirement));
    }
    return input.dryRun
      ? `dry run: every phase's checks ran for ${input.node}; nothing was changed`
      : `${input.node} is back, soaked ${input.soak}, and carries PBS and Frigate; the old Frigate LXC is retired`;
  });
}

/** A stable child ID: a retried or replayed program finds the same phase, never starts a second one. */
function phaseId(name: string): string {
  return `${workflowInfo().workflowId}/${name}`;
}

/**
 * Starts a phase. Closing the program (terminate, timeout) asks the phase to cancel, which lets a
 * change in flight finish; it is never terminated mid-change.
 */
function startPhase(workflowType: string, name: string, phaseInput: object): Promise<RunbookResult> {
  return executeChild<(arg: object) => Promise<RunbookResult>>(workflowType, {
    workflowId: phaseId(name),
    args: [phaseInput],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    staticSummary: `${name} (phase of ${workflowInfo().workflowId})`,
  });
}
