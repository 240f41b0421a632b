// The shapes every runbook shares: steps, their states and evidence, gates, the final result.

export type StepKind = 'check' | 'change' | 'wait' | 'manual' | 'soak' | 'phase';
export type StepState = 'pending' | 'running' | 'waiting' | 'done' | 'skipped' | 'planned' | 'failed' | 'rejected';

/** What will run for a change step: rendered commands (secrets masked) and the facts behind them. */
export interface StepPlan {
  target: string;
  commands: string[];
  /** The facts the commands were rendered from (member ID, K3s version, healthy node...). */
  facts: Record<string, string>;
  /** SHA-256 of target, commands and facts: an approval signs it, a changed plan changes it. */
  digest: string;
}

/** A preflight's answer: the plan to show, and the facts the change will run with. */
export interface Planned<F> {
  plan: StepPlan;
  facts: F;
}

export interface Decision {
  step: string;
  by: string;
  decision: 'approve' | 'reject' | 'done' | 'abort' | 'retry';
  comment?: string;
  /** The plan digest the decider saw. */
  digest?: string;
  via: 'signal' | 'update';
  at: string;
  /** Signatures mode: the fingerprint of the key the worker verified (the identity; `by` is its principal). */
  key?: string;
}

export interface StepStatus {
  id: string;
  title: string;
  kind: StepKind;
  state: StepState;
  startedAt?: string;
  endedAt?: string;
  /** Short command output and facts that justify the step's outcome. */
  evidence: string[];
  plan?: StepPlan;
  /** A point of no return: its gate may need a second approver, never only the starter. */
  irreversible?: boolean;
  /** A change that runs without a gate, and why. */
  noGate?: string;
  decision?: Decision;
  /** Every approval given at this step's gate (two for a two-person gate). */
  approvals?: Decision[];
  error?: string;
  /** Every time the step failed, and the retry or abort that answered it (a failed-step gate). */
  failures?: StepFailure[];
}

/** A step that failed after its retries (or whose preflight refused): the run asked what to do. */
export interface StepFailure {
  at: string;
  error: string;
  /** The step's attempt that failed (1 for the first). */
  attempt: number;
  /** retry or abort, once decided. */
  decision?: Decision;
}

export interface OpenGate {
  step: string;
  /** approval: a change's plan; manual: a person's step; failed: a step failed, retry or abort. */
  kind: 'approval' | 'manual' | 'failed';
  since: string;
  /** What the operator is asked to do, in words. */
  instructions: string;
  /** The plan digest an approval may name (approval gates). */
  digest?: string;
  /** Approvals still needed, and who approved so far. */
  needs: number;
  approvedBy: string[];
  /** When the gate expires, ending the run with nothing changed by the step. */
  deadline?: string;
  /** Why the gate is open again (the plan changed after approval, the step is retried). */
  reopenedBecause?: string;
  /** The step's attempt after a retry (2, 3...): decisions are signed for it. Absent for the first. */
  attempt?: number;
}

export type RunState = 'running' | 'waiting' | 'completed' | 'rejected' | 'aborted' | 'expired' | 'failed' | 'cancelled';

/** A durable timer the run sleeps on (a soak's next check, a grace period). */
export interface PendingTimer {
  step: string;
  firesAt: string;
  /** What happens when it fires, in words. */
  purpose: string;
}

/** What a phase (a child runbook) last told the program that started it. */
export interface PhaseReport {
  workflowId: string;
  runbook: string;
  target: string;
  state: RunState;
  currentStep?: string;
  openGate?: Pick<OpenGate, 'step' | 'kind' | 'instructions' | 'digest' | 'needs' | 'deadline' | 'attempt'>;
  timer?: PendingTimer;
  /** Steps that finished (done), in order. */
  done: string[];
  /** Reports may arrive out of order: the program keeps the one with the highest number. */
  seq?: number;
}

export interface RunbookStatus {
  runbook: string;
  target: string;
  /** Who asked for the run (input `requestedBy`); never the only approver of an irreversible step. */
  requestedBy?: string;
  dryRun: boolean;
  state: RunState;
  currentStep?: string;
  openGate?: OpenGate;
  steps: StepStatus[];
  /** A program's phases (child runbooks) by step id, as each last reported itself. */
  phases?: Record<string, PhaseReport>;
  /** The durable timer the run sleeps on, if any, and when it fires. */
  timer?: PendingTimer;
  /** Decisions that were refused: the newest few, recorded, never applied. */
  ignored: (Omit<Decision, 'via'> & { reason: string })[];
  /** How many decisions were refused in all (older ones are dropped from `ignored`). */
  ignoredCount?: number;
  /** How approvals are identified: verified SSH signatures, or names (a trusted single operator). */
  identity?: 'signatures' | 'names';
  /** This run as an approver signs for it. */
  run?: { namespace: string; workflowId: string; runId: string };
  /** The starter whose signed start the worker verified: "alice (SHA256:…)". */
  startedBy?: string;
}

export interface RunbookResult {
  runbook: string;
  target: string;
  outcome: 'completed' | 'dry-run' | 'rejected' | 'aborted' | 'expired';
  summary: string;
  steps: StepStatus[];
  approvals: Decision[];
  /** For a dry run: every change in order, with the commands it would run. */
  plan?: { step: string; title: string; target: string; commands: string[]; digest: string }[];
}

/** Every step's outcome carries evidence; activities return it alongside their facts. */
export interface Evidence {
  evidence: string[];
}

/** How gates behave, from the inventory (and the run's input for the deadline). */
export interface ApprovalPolicy {
  /** Names mode: who may approve. */
  approvers: string[];
  /** Absent in runs recorded before signed decisions: names. */
  identity?: 'signatures' | 'names';
  /** Irreversible steps need two distinct approvers. */
  twoPersonIrreversible: boolean;
  /** Gate deadline in ms; none waits forever. */
  deadlineMs?: number;
  /** Re-notify while a gate waits, every this many ms. */
  reminderMs?: number;
}

/** What a notification says about a waiting gate. */
export interface GateNotice {
  event: 'gate-open' | 'reminder' | 'expired';
  runbook: string;
  target: string;
  step: string;
  title: string;
  kind: OpenGate['kind'];
  digest?: string;
  instructions: string;
  workflowId: string;
  runId: string;
  namespace: string;
  deadline?: string;
}
