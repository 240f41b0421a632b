// The operator's key for the CLI: `--key FILE` (a private key, or a .pub whose key is in ssh-agent),
// or else the first key ssh-agent offers. ssh-keygen signs with an agent's key when handed its public
// half (openssh-portable ssh-keygen.c sig_sign: sshkey_load_public, then ssh_agent_has_key), so the
// agent's first key is written to a temporary .pub; `ssh-add -L` lists the agent's keys one per line
// and exits 1 when it has none, 2 when there is no agent (ssh-add.c list_identities, main).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signText } from '../shared/ssh-sign';
import { CliError, EXIT } from './context';

export interface SigningKey {
  keyFile: string;
  /** Where it came from, for messages: "--key ~/.ssh/id_ed25519" or "ssh-agent key alice@laptop". */
  source: string;
  sign(text: string): Promise<string>;
  /** Removes the temporary .pub of an agent key. */
  dispose(): void;
}

/** The key to sign with, or why there is none (no --key and no usable ssh-agent). */
export function findSigningKey(keyOption: string | undefined): { key: SigningKey } | { missing: string } {
  if (keyOption !== undefined) {
    if (!fs.existsSync(keyOption)) throw new CliError(`--key ${keyOption}: no such file`, EXIT.failed);
    return { key: signingKey(keyOption, `--key ${keyOption}`, () => {}) };
  }
  if (!process.env.SSH_AUTH_SOCK) return { missing: 'no --key given and no ssh-agent (SSH_AUTH_SOCK is not set)' };
  const listed = spawnSync('ssh-add', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (listed.error) return { missing: `ssh-add -L could not run: ${listed.error.message}` };
  const first = listed.status === 0 ? listed.stdout.split('\n').find((l) => /^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(l)) : undefined;
  if (!first) return { missing: `no --key given and ssh-agent offers no key (ssh-add -L: ${(listed.stdout + listed.stderr).trim() || `exit ${listed.status}`})` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-key-'));
  const pub = path.join(dir, 'agent-key.pub');
  fs.writeFileSync(pub, `${first}\n`, { mode: 0o600 });
  const comment = first.split(' ').slice(2).join(' ');
  return { key: signingKey(pub, `ssh-agent key ${comment || first.split(' ')[0]}`, () => fs.rmSync(dir, { recursive: true, force: true })) };
}

/** Like findSigningKey, but a decision cannot go unsigned: no key is an error that says what to do. */
export function requireSigningKey(keyOption: string | undefined): SigningKey {
  const found = findSigningKey(keyOption);
  if ('key' in found) return found.key;
  throw new CliError(
    `cannot sign the decision: ${found.missing}. Pass --key FILE (a private key, or a .pub whose key is loaded in ssh-agent) or load your key with ssh-add.`,
    EXIT.failed,
  );
}

function signingKey(keyFile: string, source: string, dispose: () => void): SigningKey {
  return { keyFile, source, sign: (text) => signText(text, { keyFile }), dispose };
}
