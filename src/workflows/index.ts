// Every workflow the worker runs.
export { k3sRejoin } from './k3s-rejoin';
export { recoveryProgram } from './recovery-program';
