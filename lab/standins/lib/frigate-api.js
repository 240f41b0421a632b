'use strict';
// Phase 3: Frigate's HTTP API (port 5000, no auth) as the pod serves it with hostNetwork: it listens
// on the address of the node where the lab's Frigate Deployment runs, and nowhere while it does not.
// /api/version (plain text, frigate/api/app.py version()) and /api/stats (frigate/stats/util.py stats_snapshot); cameras
// and detectors come from the config the pod mounts, numbers from $LAB_DIR/frigate/stats.json.
// /api/<camera>/recordings and /recordings/summary answer from the database in the pod's /config
// hostPath (frigate/api/media.py; the database at config database.path, default /config/frigate.db,
// frigate/const.py DEFAULT_DB_PATH) and only from there: files without a row are not listed.
// Usage: LAB_DIR=... node frigate-api.js
const { execFileSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const c = require('./common.js');
const fk = require('./frigate-kube.js');

const YAML = require(path.join(__dirname, '..', '..', '..', 'node_modules', 'yaml'));
const startedAt = Date.now();
let server = null;
let where = '';

const stateFile = () => path.join(c.LAB_DIR, 'frigate', 'stats.json');

const DB_PY = path.join(__dirname, 'frigate-db.py');

/** Where a mount of the pod is on the node VM's disk: its hostPath volume (null without one). */
function podHostDir(d, pod, mountPath) {
  const spec = d.spec.template.spec;
  const mount = spec.containers[0].volumeMounts?.find((m) => m.mountPath === mountPath);
  const vol = mount && spec.volumes?.find((v) => v.name === mount.name);
  return vol?.hostPath ? path.join(c.vmDir(pod.vm.host, pod.vm.vmid), 'fs', vol.hostPath.path) : null;
}
const podConfigDir = (d, pod) => podHostDir(d, pod, '/config');

/** frigate.db as the pod sees it (frigate/config.py DatabaseConfig.path), null when it is not under /config. */
function podDb(d, pod) {
  const dir = podConfigDir(d, pod);
  const p = podConfig(d, pod).database?.path ?? '/config/frigate.db';
  return dir && p.startsWith('/config/') ? path.join(dir, p.slice('/config/'.length)) : null;
}

/** The config.yml the pod reads: its `config` hostPath volume, on the node VM's disk. */
function podConfig(d, pod) {
  const dir = podConfigDir(d, pod);
  if (!dir) return {};
  const file = path.join(dir, 'config.yml');
  try {
    return YAML.parse(fs.readFileSync(file, 'utf8')) || {};
  } catch {
    return {};
  }
}

function stats(cfg, st) {
  const r1 = (x) => Math.round(x * 10) / 10;
  const cameras = {};
  let pid = 412;
  let detFps = 0;
  for (const name of Object.keys(cfg.cameras || {})) {
    const fps = st.cameraFps?.[name] ?? st.fps ?? 5.0;
    const det = fps > 0 ? r1(fps * 0.4) : 0;
    detFps += det;
    cameras[name] = {
      audio_dBFS: 0.0, audio_rms: 0.0, camera_fps: r1(fps), capture_pid: (pid += 3), detection_enabled: 1,
      detection_fps: det, ffmpeg_pid: pid + 1, pid: pid + 2, process_fps: r1(fps), skipped_fps: 0.0,
    };
  }
  const detectors = {};
  for (const [name, d] of Object.entries(cfg.detectors || { cpu: { type: 'cpu' } })) {
    const speed = d?.type === 'edgetpu' ? st.inferenceSpeed ?? 7.8 : st.cpuInferenceSpeed ?? 92.4;
    detectors[name] = { detection_start: 0.0, inference_speed: speed, pid: 389 };
  }
  const now = Date.now() / 1000;
  return {
    cameras,
    cpu_usages: {},
    detection_fps: r1(detFps),
    detectors,
    gpu_usages: { 'amd-vaapi': st.gpu === false ? { gpu: '', mem: '' } : { gpu: '3.51%', mem: '11.2%' } },
    processes: {},
    service: {
      last_updated: Math.floor(now),
      latest_version: '0.14.1',
      storage: {
        '/dev/shm': { free: 1020.4, mount_type: 'tmpfs', total: 1024.0, used: 3.6 },
        '/media/frigate/clips': { free: 812345.2, mount_type: 'ext4', total: 937512.4, used: 125167.2 },
        '/media/frigate/recordings': { free: 812345.2, mount_type: 'ext4', total: 937512.4, used: 125167.2 },
        '/tmp/cache': { free: 1012.1, mount_type: 'tmpfs', total: 1024.0, used: 11.9 },
      },
      temperatures: Object.values(cfg.detectors || {}).some((d) => d?.type === 'edgetpu') ? { apex_0: st.temperature ?? 45.0 } : {},
      uptime: Math.floor((Date.now() - startedAt) / 1000),
      version: st.version ?? '0.14.1-f4f3cfa',
    },
  };
}

function handler(req, res) {
  const run = fk.runningPods()[0];
  const st = c.readJson(stateFile(), {});
  const url = new URL(req.url, 'http://x').pathname;
  if (!run) {
    res.writeHead(503, { 'content-type': 'text/plain' });
    return res.end('Frigate is not running\n');
  }
  if (url === '/api/version') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    return res.end(st.version ?? '0.14.1-f4f3cfa');
  }
  if (url === '/api/stats') {
    const body = JSON.stringify(stats(podConfig(run.deployment, run.pod), st));
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(body);
  }
  const rec = /^\/api\/([^/]+)\/recordings(\/summary)?$/.exec(url);
  if (rec) {
    const db = podDb(run.deployment, run.pod);
    const q = new URL(req.url, 'http://x').searchParams;
    const now = Date.now() / 1000;
    const num = (k, dflt) => (q.has(k) && Number.isFinite(Number(q.get(k))) ? Number(q.get(k)) : dflt);
    const args = rec[2] ? ['summary', db, decodeURIComponent(rec[1])] : ['recordings', db, decodeURIComponent(rec[1]), String(num('after', now - 3600)), String(num('before', now))];
    try {
      const body = execFileSync('python3', [DB_PY, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(body);
    } catch (e) {
      // peewee raises on a missing table or an unreadable file: Flask answers 500
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(`<title>500 Internal Server Error</title>\n${String(e.stderr || e.message).split('\n').filter(Boolean).pop()}\n`);
    }
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  return res.end(JSON.stringify({ success: false, message: 'Not found' }));
}

/** Listen where the pod runs (hostNetwork, container port 5000); close when it stops. */
function reconcile() {
  let want = '';
  try {
    const run = fk.runningPods()[0];
    if (run) {
      const port = run.deployment.spec.template.spec.containers[0].ports?.find((p) => p.name === 'http')?.containerPort ?? 5000;
      want = `${run.pod.vm.address}:${port}`;
    }
  } catch {
    want = where; // a half-written state file: keep what we have
  }
  if (want === where) return;
  if (server) server.close();
  server = null;
  where = want;
  if (!want) return;
  // frigate/app.py init_database at start: a missing database is created (empty) before the API serves
  const run = fk.runningPods()[0];
  const db = podDb(run.deployment, run.pod);
  if (db) {
    try {
      execFileSync('python3', [DB_PY, 'init', db], { stdio: ['ignore', 'ignore', 'pipe'] });
      // frigate/record/cleanup.py run: with record.sync_recordings, sync_recordings(limited=False) at start
      const media = podHostDir(run.deployment, run.pod, '/media/frigate');
      if (podConfig(run.deployment, run.pod).record?.sync_recordings === true && media) {
        const r = execFileSync('python3', [DB_PY, 'sync', db, media], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        process.stderr.write(`frigate-api: sync_recordings: ${r}`);
      }
    } catch (e) {
      process.stderr.write(`frigate-api: init ${db}: ${e.message}\n`);
    }
  }
  const [host, port] = want.split(':');
  server = http.createServer(handler);
  server.on('error', (e) => {
    process.stderr.write(`frigate-api: ${want}: ${e.message}\n`);
    server = null;
    where = '';
  });
  server.listen(Number(port), host);
}

setInterval(reconcile, 250);
reconcile();
process.on('SIGTERM', () => process.exit(0));
