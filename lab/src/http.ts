// The loopback web server behind installScriptUrl: www/install.sh and www/k3s/<version>/k3s.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnDetached, waitPort } from './proc';
import { HTTP_PORT, K3S_VERSION, STANDINS_DIR } from './topology';

/** Fill www/ from the templates in lab/standins/www, with this lab's URL baked in. */
export function writeWww(labDir: string, base: string): void {
  const www = path.join(labDir, 'www');
  const fill = (name: string) =>
    fs.readFileSync(path.join(STANDINS_DIR, 'www', name), 'utf8').replaceAll('@@BASE@@', base).replaceAll('@@STANDINS@@', STANDINS_DIR);
  fs.mkdirSync(path.join(www, 'k3s', K3S_VERSION), { recursive: true });
  fs.writeFileSync(path.join(www, 'install.sh'), fill('install.sh'), { mode: 0o755 });
  const bin = fill('k3s.sh');
  fs.writeFileSync(path.join(www, 'k3s', K3S_VERSION, 'k3s'), bin, { mode: 0o755 });
  const sha = crypto.createHash('sha256').update(bin).digest('hex');
  fs.writeFileSync(path.join(www, 'k3s', K3S_VERSION, 'sha256sum-amd64.txt'), `${sha}  k3s\n`);
  fs.writeFileSync(path.join(www, 'k3s', 'stable'), `${K3S_VERSION}\n`);
}

export async function startHttpd(labDir: string, address: string): Promise<number> {
  const pid = spawnDetached(
    process.execPath,
    [path.join(STANDINS_DIR, 'lib', 'httpd.js'), path.join(labDir, 'www'), address, String(HTTP_PORT)],
    { PATH: process.env.PATH ?? '/usr/bin:/bin', LAB_DIR: labDir },
    path.join(labDir, 'httpd.log'),
  );
  await waitPort(address, HTTP_PORT, 10_000);
  return pid;
}

/** Fault: the web server answers `path` (e.g. '/install.sh') with HTTP `status` until called again with status 0. */
export function failDownload(labDir: string, urlPath: string, status: number): void {
  const file = path.join(labDir, 'faults', 'http-fail.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (status > 0) fs.writeFileSync(file, JSON.stringify({ path: urlPath, status }));
  else fs.rmSync(file, { force: true });
}
