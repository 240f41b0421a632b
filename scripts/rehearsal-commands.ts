// The rehearsal commands the main job prints, as argv and as the shell line shown: the e2e test
// (test/e2e/rehearsal.test.ts) runs these same argv, so what is printed is what is tested.
import { shellQuote } from '../src/activities/exec/quote';

const NODE = 'k3s-vm-still-fawn';
const REJOIN_ID = `k3s-rejoin-${NODE}`;
export const PROGRAM_ID = `recovery-program-${NODE}`;

/**
 * Lab-sized waits for the whole program: the soak after the rejoin, and Phase 4's healthy period
 * and grace (7d and 24h by default), passed to that phase through the program's `phases`.
 */
export const REHEARSAL_INPUT = {
  soak: '1m',
  checkEvery: '30s',
  rehearsal: true,
  phases: { lxcRetirement: { healthyFor: '30s', checkEvery: '15s', grace: '30s' } },
};

export interface Command {
  /** Words after ./bin/runbook. */
  args: string[];
  /** The line printed: ./bin/runbook and the args, each quoted for a POSIX shell. */
  text: string;
}

/** A placeholder the operator fills in (`<step>`) is shown as is, every other word quoted. */
const PLACEHOLDER = /^<[a-z-]+>$/;

function runbook(...args: string[]): Command {
  return { args, text: ['./bin/runbook', ...args].map((w) => (PLACEHOLDER.test(w) ? w : shellQuote(w))).join(' ') };
}

/** `--key FILE` when the lab gave a key; none (ssh-agent's first key) on your own homelab. */
const withKey = (key: string | undefined) => (key ? ['--key', key] : []);

export interface RehearsalCommands {
  rejoin: { start: Command; watch: Command; approve: Command };
  program: {
    start: Command;
    status: Command;
    /** Approve the gate of `step` on whichever phase it is open (the CLI finds it). */
    approve(step: string, key?: string): Command;
    /** A manual step is done (after the lab verbs its instructions name). */
    done(step: string, key?: string): Command;
  };
  /** What the main job prints. */
  lines: string[];
}

/** `key`: alice's key in the lab; undefined on your own homelab (signed with ssh-agent's first key, no rehearsal of the program). */
export function rehearsalCommands(key: string | undefined): RehearsalCommands {
  const rejoin = {
    start: runbook('start', 'k3s-rejoin', '--node', NODE, ...withKey(key)),
    watch: runbook('watch', REJOIN_ID),
    approve: runbook('approve', REJOIN_ID, '--step', 'remove-stale-node', ...withKey(key)),
  };
  const program = {
    start: runbook('start', 'recovery-program', '--node', NODE, ...withKey(key), '--input', JSON.stringify(REHEARSAL_INPUT)),
    status: runbook('status', PROGRAM_ID),
    approve: (step: string, k = key) => runbook('approve', PROGRAM_ID, '--step', step, ...withKey(k)),
    done: (step: string, k = key) => runbook('done', PROGRAM_ID, '--step', step, ...withKey(k)),
  };
  const { soak, phases } = REHEARSAL_INPUT;
  const lines = [
    key
      ? 'Rehearse the signed way, as alice: start, follow, then approve each gate with her key:'
      : "Start, follow, then approve each gate, signed with ssh-agent's first key:",
    `  ${rejoin.start.text}`,
    `  ${rejoin.watch.text}`,
    `  ${rejoin.approve.text}`,
  ];
  // the program's rehearsal is the lab's: lab-sized waits and the lab's verbs at the manual steps
  if (key) lines.push(
    `The whole plan (rejoin, soak, PBS, Frigate, LXC retirement) with lab-sized waits (soak ${soak}, ` +
      `Phase 4's healthy period ${phases.lxcRetirement.healthyFor} and grace ${phases.lxcRetirement.grace}):`,
    `  ${program.start.text}`,
    `  ${program.status.text}            # every phase, and the gate it waits on`,
    `  ${program.approve('<step>').text}   # with approvals.twoPersonIrreversible a point of no return also needs bob's key`,
    '  at a manual step, do what its instructions say (in the lab: the `npm run lab -- <verb>` they name), then:',
    `  ${program.done('<step>').text}`,
  );
  return { rejoin, program, lines };
}
