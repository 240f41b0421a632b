// Signing a decision's text with real OpenSSH (`ssh-keygen -Y sign`), the way an operator does by
// hand: with a private key file, or with a public key file whose private half is in ssh-agent
// (ssh-keygen asks the agent then; FIDO -sk keys work the same way). Used by the CLI, the signer
// and the tests; the worker only ever verifies.
import { spawn } from 'node:child_process';
import { SIGNATURE_NAMESPACE } from '../workflows/runbook/decision';

export interface SignWith {
  /** A private key file, or a .pub whose key is loaded in ssh-agent (SSH_AUTH_SOCK). */
  keyFile: string;
}

/** The armored SSH SIGNATURE of `text` under our namespace. */
export async function signText(text: string, { keyFile }: SignWith): Promise<string> {
  const { code, stdout, stderr } = await run('ssh-keygen', ['-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-f', keyFile], text);
  if (code !== 0 || !stdout.includes('-----BEGIN SSH SIGNATURE-----')) {
    throw new Error(`ssh-keygen -Y sign with ${keyFile} failed (exit ${code}): ${stderr.trim() || 'no signature written'}`);
  }
  return stdout;
}

function run(cmd: string, args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
