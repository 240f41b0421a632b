// Every workflow the worker runs.
export { k3sRejoin } from './k3s-rejoin';
export { recoveryProgram } from './recovery-program';
export { lxcRetirement } from './lxc-retirement';
export { frigateMigration } from './frigate-migration';
export { pbsMigration } from './pbs-migration';
