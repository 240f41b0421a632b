// The recovery-program doc: its steps run other runbooks (phases) and a soak; no commands of its own.
import { checkProgramInput } from '../../workflows/recovery-program-input';
import { RECOVERY_PROGRAM_STEPS } from '../../workflows/recovery-program';
import { P } from '../doc-inventory';
import type { RunbookDocSource } from '../types';

export const recoveryProgramDoc: RunbookDocSource = {
  name: 'recovery-program',
  source: 'src/workflows/recovery-program.ts',
  steps: RECOVERY_PROGRAM_STEPS,
  defaults: checkProgramInput({ node: P.node }),
  instructions: {},
  commands: {},
  phases: { rejoin: 'k3s-rejoin', 'pbs-migration': 'pbs-migration', 'frigate-migration': 'frigate-migration', 'lxc-retirement': 'lxc-retirement' },
};
