// Verifying an approver's signature with real OpenSSH, against the allowed_signers file the worker
// reads itself. Two steps, as ssh-keygen(1) documents them: `-Y find-principals` names the principals
// whose key made the signature (openssh-portable ssh-keygen.c sig_find_principals: one per line,
// "No principal matched." otherwise), then `-Y verify -I <principal>` checks the signature over the
// text under our namespace (ssh-keygen.c sig_verify prints `Good "<ns>" signature for <principal>
// with <type> key <fingerprint>`; sshsig.c sshsig_wrap_verify refuses another namespace).
import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeSignature, SIGNATURE_NAMESPACE, type VerifiedKey } from '../../workflows/runbook/decision';

export type Verification = { ok: true; key: VerifiedKey } | { ok: false; reason: string };

/** Longer than any decision or start text (one line of JSON with IDs and a digest). */
export const MAX_SIGNED_TEXT = 8192;
/** An allowed_signers file of a homelab is a few lines; a huge one is not read. */
const MAX_ALLOWED_SIGNERS_BYTES = 1024 * 1024;
/** A key listed under more principals than this is not one person's key. */
const MAX_PRINCIPALS = 16;
const SSH_KEYGEN_TIMEOUT_MS = 15_000;

const GOOD = /^Good "([^"]*)" signature for (.+) with (\S+) key (SHA256:[A-Za-z0-9+/]{43})$/m;

/**
 * Is `signature` a signature over exactly `text` under our namespace, by a key of `allowedSigners`?
 * The verified key (fingerprint and every principal it is listed under), or why not: never throws.
 */
export async function verifySignature(text: string, signature: unknown, allowedSigners: string): Promise<Verification> {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_SIGNED_TEXT) return refused('the signed text is empty or too long');
  const armored = normalizeSignature(signature);
  if (!armored) return refused('not an SSH signature (the armored "-----BEGIN SSH SIGNATURE-----" block that ssh-keygen -Y sign writes)');
  const readable = await checkAllowedSigners(allowedSigners);
  if (readable) return refused(readable);

  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hr-verify-'));
  try {
    await fsp.chmod(dir, 0o700);
    const sigFile = path.join(dir, 'decision.sig');
    await fsp.writeFile(sigFile, armored, { mode: 0o600 });

    const found = await sshKeygen(['-Y', 'find-principals', '-s', sigFile, '-f', allowedSigners], '');
    if (found.code !== 0) {
      return refused(/No principal matched/.test(found.stderr) ? `the key that made this signature is not in ${allowedSigners}` : `ssh-keygen -Y find-principals failed: ${oneLine(found.stderr)}`);
    }
    const first = [...new Set(found.stdout.split('\n').map((l) => l.trim()).filter(Boolean))];
    if (first.length === 0) return refused(`the key that made this signature is not in ${allowedSigners}`);
    if (first.length > MAX_PRINCIPALS) return refused(`the signing key is listed under ${first.length} principals in ${allowedSigners}`);
    // each principal on its own: an allowed_signers line may restrict its key (namespaces=, valid-before=)
    let fingerprint: string | undefined;
    const verified: string[] = [];
    let why = '';
    const tryPrincipal = async (principal: string): Promise<string | undefined> => {
      const res = await sshKeygen(['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', SIGNATURE_NAMESPACE, '-s', sigFile], text);
      const good = GOOD.exec(res.stdout);
      if (res.code === 0 && good && good[1] === SIGNATURE_NAMESPACE && good[2] === principal) return good[4]!;
      why ||= oneLine(res.stderr) || oneLine(res.stdout);
      return undefined;
    };
    for (const principal of first) {
      const fp = await tryPrincipal(principal);
      if (fp && fingerprint !== undefined && fp !== fingerprint) return refused('ssh-keygen reported two different keys for one signature');
      if (fp) {
        fingerprint = fp;
        verified.push(principal);
      }
    }
    if (!fingerprint) return refused(`the signature does not verify for ${first.join(', ')}: ${explain(why)}`);
    // find-principals stops at the first line with the key (sshsig.c sshsig_find_principals): the same
    // key on another line under another name is found by asking verify for that line's principals too
    const others = (await fsp.readFile(allowedSigners, 'utf8')).split('\n').flatMap(linePrincipals).filter((p) => !first.includes(p));
    for (const principal of [...new Set(others)].slice(0, MAX_PRINCIPALS - verified.length)) {
      if ((await tryPrincipal(principal)) === fingerprint) verified.push(principal);
    }
    return { ok: true, key: { fingerprint, principals: verified } };
  } catch (err) {
    return refused(`ssh-keygen could not be run: ${(err as Error).message}`);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The principals field of an allowed_signers line (unquoted form only; comments and blank lines give none). */
function linePrincipals(line: string): string[] {
  const field = /^\s*([^\s#"][^\s]*)\s/.exec(line)?.[1];
  return field ? field.split(',').filter(Boolean) : [];
}

function refused(reason: string): Verification {
  return { ok: false, reason };
}

/** ssh-keygen's words for the usual causes, said plainly. */
function explain(stderr: string): string {
  if (/namespace does not match/.test(stderr)) return `it was made for another namespace than "${SIGNATURE_NAMESPACE}" (ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE})`;
  if (/incorrect signature|Signature verification failed/.test(stderr)) return 'it was made over another text (another run, step, decision or plan digest)';
  return stderr || 'ssh-keygen -Y verify refused it';
}

async function checkAllowedSigners(file: string): Promise<string | undefined> {
  if (!path.isAbsolute(file)) return `approvals.allowedSigners must be an absolute path (got ${JSON.stringify(file)})`;
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) return `${file} (approvals.allowedSigners) is not a file`;
    if (st.size > MAX_ALLOWED_SIGNERS_BYTES) return `${file} (approvals.allowedSigners) is larger than ${MAX_ALLOWED_SIGNERS_BYTES} bytes`;
    await fsp.access(file, fsConstants.R_OK);
  } catch (err) {
    return `cannot read ${file} (approvals.allowedSigners): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return undefined;
}

function oneLine(s: string): string {
  const t = s.trim().split('\n').filter(Boolean).join('; ');
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

function sshKeygen(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: SSH_KEYGEN_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 65536) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 65536) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // ssh-keygen may exit before reading stdin (find-principals)
    child.stdin.end(stdin);
  });
}
