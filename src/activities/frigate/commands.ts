// The exact commands of the Frigate migration, rendered in one place so the plan an approver sees
// and the commands that run are the same text. Every value goes through shellQuote/shellCommand.
import type { FrigateInventory } from '../../inventory/frigate';
import { shellCommand, shellQuote } from '../exec/quote';

export const LSPCI = 'lspci -nnk';

export function deviceProbe(f: FrigateInventory): string {
  const q = shellQuote;
  return [
    `if test -c ${q(f.devices.coral)}; then ls -l ${q(f.devices.coral)}; else echo ${q(`missing ${f.devices.coral}`)}; fi`,
    `if test -c ${q(f.devices.render)}; then ls -l ${q(f.devices.render)}; else echo ${q(`missing ${f.devices.render}`)}; fi`,
    `echo ---vainfo`,
    `${shellCommand(['vainfo', '--display', 'drm', '--device', f.devices.render])} 2>/dev/null || echo "vainfo exited $?"`,
  ].join('; ');
}

export const kubectlGet = (f: FrigateInventory, kind: string, name?: string): string =>
  shellCommand(['kubectl', 'get', kind, ...(name ? [name] : []), '-n', f.namespace, '-o', 'json']);

export const labelNode = (f: FrigateInventory): string =>
  shellCommand(['kubectl', 'label', 'node', f.node, `${f.nodeLabel.key}=${f.nodeLabel.value}`, '--overwrite']);

/** The manifest travels as one quoted argument to printf, piped into `kubectl apply -f -`. */
export const applyManifest = (manifestJson: string): string => `printf '%s\\n' ${shellQuote(manifestJson)} | kubectl apply -f -`;
/** What the plan shows for it (the manifest itself is in the plan's facts by digest). */
export const applyManifestShown = (digest: string): string => `printf '%s\\n' '<manifest ${digest}>' | kubectl apply -f -`;

export const rolloutStatus = (f: FrigateInventory, timeoutSeconds: number): string =>
  shellCommand(['kubectl', 'rollout', 'status', `deployment/${f.name}`, '-n', f.namespace, `--timeout=${timeoutSeconds}s`]);

export const curlApi = (f: FrigateInventory, p: '/api/version' | '/api/stats'): string =>
  shellCommand(['curl', '-sf', '--max-time', '5', `${f.apiUrl.replace(/\/+$/, '')}${p}`]);

/** GET /api/<camera>/recordings?after=&before= (frigate/api/media.py recordings); the camera name is checked by the caller. */
export const curlRecordings = (f: FrigateInventory, camera: string, after: number, before: number): string =>
  shellCommand(['curl', '-sf', '--max-time', '10', `${f.apiUrl.replace(/\/+$/, '')}/api/${camera}/recordings?after=${Number(after)}&before=${Number(before)}`]);

export const catFile = (p: string): string => shellCommand(['cat', '--', p]);

/** On the node: `<size> <path>` of the recordings already there, and the config's sha256. */
export function listK3sFrigate(f: FrigateInventory): string {
  const q = shellQuote;
  return [
    `(cd ${q(f.hostPaths.media)} 2>/dev/null && find recordings -type f -printf '%s %p\\n' | sed 's/^/rec /')`,
    `(sha256sum ${q(`${f.hostPaths.config}/config.yml`)} 2>/dev/null | sed 's/^/config /')`,
    'true',
  ].join('; ');
}

export const tarFromLxc = (f: FrigateInventory, files: string[]): string =>
  `cd ${shellQuote(f.lxc.mediaPath)} && ${shellCommand(['tar', '-cf', '-', '--', ...files])} | base64 -w0`;

export const serviceActive = (f: FrigateInventory): string => shellCommand(['systemctl', 'is-active', f.lxc.service]);
export const serviceEnabled = (f: FrigateInventory): string => shellCommand(['systemctl', 'is-enabled', f.lxc.service]);
/** Stop it and keep it from starting again when the CT boots (both Frigates would record the cameras). */
export const serviceDisableNow = (f: FrigateInventory): string => shellCommand(['systemctl', 'disable', '--now', f.lxc.service]);

/** Where streamed recordings land on the node before their sha256 is checked, and the list of checked ones. */
export const copyDir = (f: FrigateInventory): string => `${f.hostPaths.media}/.frigate-copy`;
export const VERIFIED = 'verified';
const staging = (f: FrigateInventory, batch?: number) => `${copyDir(f)}/incoming${batch === undefined ? '' : `/${Number(batch)}`}`;

/**
 * sha256 of files, `<hex> <space or *><path>` per line: OpenSSL's (SHA-NI, several times coreutils' speed
 * here) where it is installed, else coreutils' sha256sum. Paths are checked recording paths (no leading -).
 */
const SUM = 'h() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$@"; else sha256sum "$@"; fi; }';

/**
 * In the CT: the files as one tar on stdout, and their sha256 on stderr, read at the same time (the
 * second read comes from the page cache). Exit 97: the checksum failed.
 */
export function tarOutWithSums(f: FrigateInventory, files: string[]): string {
  const list = shellCommand(files);
  return `${SUM}; cd ${shellQuote(f.lxc.mediaPath)} && { h ${list} >&2 & p=$!; tar -cf - -- ${list}; t=$?; wait $p || exit 97; exit $t; }`;
}

/** On the node (its own sshd): unpack stdin into this batch's emptied staging dir, then print the sha256 of what arrived. */
export function untarToStaging(f: FrigateInventory, files: string[], batch = 0): string {
  const stage = shellQuote(staging(f, batch));
  // the first batch of an attempt empties all of staging: what a lost attempt left there is never in place
  const clear = shellQuote(batch === 0 ? staging(f) : staging(f, batch));
  return `${SUM}; rm -rf ${clear} && mkdir -p ${stage} && cd ${stage} && tar -xf - && h ${shellCommand(files)}`;
}

/**
 * On the node: the checked files of a batch into place (hard links made from staging in one `cp`, each
 * atomic; then staging goes), and stdin (their `<sha256>  <path>` lines) appended to the verified list.
 */
export function acceptStaged(f: FrigateInventory, files: string[], batch = 0): string {
  const q = shellQuote;
  return [
    `cd ${q(staging(f, batch))}`,
    `cp -alf --parents -- ${shellCommand(files)} ${q(`${f.hostPaths.media}/`)}`,
    `cat >> ${q(`${copyDir(f)}/${VERIFIED}`)}`,
    `rm -rf ${q(staging(f, batch))}`,
  ].join(' && ');
}

/** On the node: write stdin to `file` whole (a temporary file, then a rename). */
export function writeFromStdin(file: string): string {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  return `mkdir -p ${shellQuote(dir)} && cat > ${shellQuote(`${file}.tmp`)} && mv -f ${shellQuote(`${file}.tmp`)} ${shellQuote(file)}`;
}
