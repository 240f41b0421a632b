// The fake rejoin world (test/helpers/fake-rejoin.ts) in signatures mode: the policy says identity
// "signatures", a mock verifyDecision stands in for the worker's check (src/activities/approvals),
// and each change activity records the { args, authorization } it is handed.
import type { RunbookActivities } from '../../src/activities';
import { normalizeSignature, type Authorization, type DecisionFields, type VerifiedKey } from '../../src/workflows/runbook/decision';
import { CHANGES, fakeLab } from './fake-rejoin';

/** A well-formed SSH SIGNATURE whose body names the mock key that "made" it. */
export function armor(name: string): string {
  return `-----BEGIN SSH SIGNATURE-----\n${Buffer.from(name).toString('base64')}\n-----END SSH SIGNATURE-----\n`;
}
export function nameOf(signature: string): string {
  const body = normalizeSignature(signature)?.split('\n').slice(1, -2).join('') ?? '';
  return Buffer.from(body, 'base64').toString();
}

export const KEYS: Record<string, VerifiedKey> = {
  sigA: { fingerprint: 'SHA256:A', principals: ['alice'] },
  // the same key listed under two names in allowed_signers
  sigA2: { fingerprint: 'SHA256:A', principals: ['alice', 'bob'] },
  sigB: { fingerprint: 'SHA256:B', principals: ['bob'] },
};

/** The fake rejoin world in signatures mode, recording what each change activity is handed. */
export function signedLab(opts: { twoPerson?: boolean } = {}) {
  const lab = fakeLab({ twoPerson: opts.twoPerson });
  const verified: { fields: DecisionFields; signature: string }[] = [];
  const handed: Record<string, { args: unknown; authorization: Authorization }[]> = {};
  const acts: Record<string, unknown> = { ...lab.acts };
  for (const name of CHANGES) {
    const real = lab.acts[name as keyof RunbookActivities] as unknown as () => Promise<unknown>;
    acts[name] = async (input: { args: unknown; authorization: Authorization }) => {
      (handed[name] ??= []).push(input);
      return real();
    };
  }
  acts.approvalPolicy = async () => ({ ...(await lab.acts.approvalPolicy!()), identity: 'signatures' as const });
  acts.verifyDecision = async (input: { fields: DecisionFields; signature: string }) => {
    verified.push(input);
    const key = KEYS[nameOf(input.signature)];
    return key ? { ok: true, key } : { ok: false, reason: 'bad' };
  };
  acts.verifyStart = async () => ({ ok: false, reason: 'no signed starts in this test' });
  return { ...lab, acts: acts as Partial<RunbookActivities>, verified, handed };
}
