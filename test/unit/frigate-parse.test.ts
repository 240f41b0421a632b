// Parsers of Phase 3 on real-format text: lspci -nnk, vainfo, Frigate's /api/version and /api/stats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLspci } from '../../src/activities/parse/lspci';
import { decodes, parseVainfo } from '../../src/activities/parse/vainfo';
import { judgeFrigate, parseFrigateStats, parseFrigateVersion } from '../../src/activities/parse/frigate';
import { adaptConfig, cameraNames } from '../../src/activities/frigate/config';
import { frigateManifest } from '../../src/activities/frigate/manifest';
import { frigateSchema } from '../../src/inventory/frigate';

const LSPCI = [
  '00:1f.6 Ethernet controller [0200]: Intel Corporation Ethernet Connection (7) I219-V [8086:15bc] (rev 10)',
  '\tSubsystem: ASUSTeK Computer Inc. Device [1043:8672]',
  '\tKernel driver in use: e1000e',
  '\tKernel modules: e1000e',
  '01:00.0 VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere [Radeon RX 470/480/570/570X/580/580X/590] [1002:67df] (rev e7)',
  '\tKernel driver in use: vfio-pci',
  '\tKernel modules: amdgpu',
  '01:00.1 Audio device [0403]: Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere HDMI Audio [Radeon RX 470/480 / 570/580/590] [1002:aaf0]',
  '03:00.0 Co-processor [0880]: Global Unichip Corp. Coral Edge TPU [1ac1:089a]',
  '\tKernel driver in use: apex',
  '\tKernel modules: apex',
  '',
].join('\n');

const VAINFO = [
  'vainfo: VA-API version: 1.17 (libva 2.17.0)',
  'vainfo: Driver version: Mesa Gallium driver 22.3.6 for AMD Radeon RX 580 Series (polaris10, LLVM 15.0.6, DRM 3.49, 6.1.0-18-amd64)',
  'vainfo: Supported profile and entrypoints',
  '      VAProfileH264ConstrainedBaseline:\tVAEntrypointVLD',
  '      VAProfileH264Main               :\tVAEntrypointVLD',
  '      VAProfileH264Main               :\tVAEntrypointEncSlice',
  '      VAProfileHEVCMain               : VAEntrypointVLD',
  '      VAProfileNone                   :\tVAEntrypointVideoProc',
  '',
].join('\n');

const STATS = JSON.stringify({
  cameras: {
    front_door: { audio_dBFS: 0, audio_rms: 0, camera_fps: 5.1, capture_pid: 415, detection_enabled: 1, detection_fps: 2, ffmpeg_pid: 416, pid: 417, process_fps: 5.1, skipped_fps: 0 },
    driveway: { camera_fps: 0.0, process_fps: 0.0, detection_fps: 0.0, skipped_fps: 0, pid: 420, capture_pid: 418, ffmpeg_pid: 419, detection_enabled: 1, audio_rms: 0, audio_dBFS: 0 },
  },
  detection_fps: 2.0,
  detectors: { coral: { detection_start: 0.0, inference_speed: 7.8, pid: 389 } },
  gpu_usages: { 'amd-vaapi': { gpu: '3.51%', mem: '11.2%' } },
  service: { last_updated: 1764100000, latest_version: '0.14.1', storage: {}, temperatures: { apex_0: 45.0 }, uptime: 120, version: '0.14.1-f4f3cfa' },
});

describe('lspci -nnk', () => {
  it('reads slot, id (not the class code) and the driver in use from tab-indented sub-lines', () => {
    const devs = parseLspci(LSPCI);
    assert.equal(devs.length, 4);
    const gpu = devs.find((d) => d.id === '1002:67df')!;
    assert.equal(gpu.slot, '01:00.0');
    assert.equal(gpu.driverInUse, 'vfio-pci');
    assert.deepEqual(gpu.modules, ['amdgpu']);
    const coral = devs.find((d) => d.id === '1ac1:089a')!;
    assert.equal(coral.driverInUse, 'apex', 'an old pci.ids class name still matches by id');
    assert.equal(devs.find((d) => d.id === '1002:aaf0')!.driverInUse, undefined);
  });
});

describe('vainfo', () => {
  it('splits profile lines on /\\s*:\\s*/ (tab or space) and finds H264 and HEVC decode', () => {
    const info = parseVainfo(VAINFO);
    assert.equal(info.vaApiVersion, '1.17 (libva 2.17.0)');
    assert.match(info.driver!, /Radeon RX 580/);
    assert.deepEqual(info.profiles[0], { profile: 'VAProfileH264ConstrainedBaseline', entrypoint: 'VAEntrypointVLD' });
    assert.ok(decodes(info, 'H264'));
    assert.ok(decodes(info, 'HEVC'));
    assert.ok(!decodes(info, 'VP9'));
    assert.ok(!decodes(parseVainfo(VAINFO.replace('VAProfileHEVCMain               : VAEntrypointVLD', '')), 'HEVC'));
  });
});

describe("Frigate's API", () => {
  it('/api/version is plain text', () => {
    assert.equal(parseFrigateVersion('0.14.1-f4f3cfa'), '0.14.1-f4f3cfa');
    assert.equal(parseFrigateVersion('<html>502</html>'), null);
  });
  it('/api/stats: a camera at 0 fps is unhealthy, a sane Coral is not the problem', () => {
    const stats = parseFrigateStats(STATS);
    assert.equal(stats.detectors.coral!.inferenceSpeed, 7.8);
    assert.equal(stats.temperatures.apex_0, 45);
    const j = judgeFrigate(stats, { detector: 'coral', maxInferenceMs: 15, minCameraFps: 0 });
    assert.equal(j.healthy, false);
    assert.ok(j.evidence.some((e) => /camera driveway at 0 fps/.test(e)));
    assert.ok(j.evidence.includes('detector coral: inference 7.8 ms'));
  });
  it('a slow detector (a CPU, not the Coral) is unhealthy', () => {
    const stats = parseFrigateStats(STATS.replace('"inference_speed":7.8', '"inference_speed":92.4').replace('"camera_fps":0', '"camera_fps":5'));
    const j = judgeFrigate(stats, { detector: 'coral', maxInferenceMs: 15, minCameraFps: 0 });
    assert.equal(j.healthy, false);
    assert.match(j.evidence.join('\n'), /inference speed 92.4 ms/);
  });
});

describe("Frigate's config and manifest", () => {
  const CONFIG = 'mqtt:\n  enabled: false\ndetectors:\n  coral:\n    type: edgetpu\n    device: usb\ncameras:\n  front_door:\n    ffmpeg:\n      inputs:\n        - path: rtsp://127.0.0.1:8554/front_door\n          roles: [detect, record]\n  driveway: {}\n';
  it('keeps the cameras, moves the detector to the PCIe Coral and decoding to VAAPI', () => {
    const a = adaptConfig(CONFIG);
    assert.deepEqual(a.cameras, ['driveway', 'front_door']);
    assert.match(a.text, /device: pci/);
    assert.match(a.text, /hwaccel_args: preset-vaapi/);
    assert.equal(a.changes.length, 2);
    assert.deepEqual(adaptConfig(a.text).changes, [], 'adapting twice changes nothing');
    assert.deepEqual(cameraNames(a.text), ['driveway', 'front_door']);
  });
  it('the Deployment pins the node and mounts the devices privileged, as the chart would', () => {
    const f = frigateSchema.parse({ node: 'k3s-vm-still-fawn', lxc: { host: 'fun-bedbug', ctid: 113 } });
    const items = frigateManifest(f).items as Array<{ kind: string; spec?: { template: { spec: Record<string, unknown> } } }>;
    const spec = items.find((i) => i.kind === 'Deployment')!.spec!.template.spec as {
      nodeSelector: Record<string, string>;
      volumes: Array<{ name: string; hostPath?: { path: string; type: string } }>;
      containers: Array<{ env: Array<{ name: string; value: string }>; securityContext: { privileged: boolean } }>;
    };
    assert.deepEqual(spec.nodeSelector, { 'homelab/frigate': 'true' });
    assert.deepEqual(spec.volumes.find((v) => v.name === 'coral')!.hostPath, { path: '/dev/apex_0', type: 'CharDevice' });
    assert.deepEqual(spec.volumes.find((v) => v.name === 'dri')!.hostPath, { path: '/dev/dri', type: 'Directory' });
    assert.equal(spec.containers[0]!.securityContext.privileged, true);
    assert.deepEqual(spec.containers[0]!.env, [{ name: 'LIBVA_DRIVER_NAME', value: 'radeonsi' }]);
  });
  it('the inventory refuses values that could reach a shell unquoted', () => {
    assert.ok(!frigateSchema.safeParse({ node: 'x', lxc: { host: 'h', ctid: 113 }, image: 'frigate;rm -rf /' }).success);
    assert.ok(!frigateSchema.safeParse({ node: 'x', lxc: { host: 'h', ctid: 113 }, hostPaths: { config: '/var/lib/$(x)' } }).success);
  });
});
