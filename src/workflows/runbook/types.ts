// The shapes every runbook shares: steps, their states and evidence, gates, the final result.

export type StepKind = 'check' | 'change' | 'wait' | 'manual';
export type StepState = 'pending' | 'running' | 'waiting' | 'done' | 'skipped' | 'planned' | 'failed' | 'rejected';

/** What will run for a change step: rendered commands, secrets masked. */
export interface StepPlan {
  target: string;
  commands: string[];
}

export interface Decision {
  step: string;
  by: string;
  decision: 'approve' | 'reject' | 'done' | 'abort';
  comment?: string;
  via: 'signal' | 'update';
  at: string;
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
  decision?: Decision;
  error?: string;
}

export interface OpenGate {
  step: string;
  kind: 'approval' | 'manual';
  since: string;
  /** What the operator is asked to do, in words. */
  instructions: string;
}

export type RunState = 'running' | 'waiting' | 'completed' | 'rejected' | 'aborted' | 'failed';

export interface RunbookStatus {
  runbook: string;
  target: string;
  dryRun: boolean;
  state: RunState;
  currentStep?: string;
  openGate?: OpenGate;
  steps: StepStatus[];
  /** Signals that did not match the open gate: recorded, never applied. */
  ignored: (Omit<Decision, 'via'> & { reason: string })[];
}

export interface RunbookResult {
  runbook: string;
  target: string;
  outcome: 'completed' | 'dry-run' | 'rejected' | 'aborted';
  summary: string;
  steps: StepStatus[];
  approvals: Decision[];
  /** For a dry run: every change in order, with the commands it would run. */
  plan?: { step: string; title: string; target: string; commands: string[] }[];
}

/** Every step's outcome carries evidence; activities return it alongside their facts. */
export interface Evidence {
  evidence: string[];
}
