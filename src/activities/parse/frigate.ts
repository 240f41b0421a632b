// Frigate's API answers: GET /api/version (plain text, e.g. `0.14.1-f4f3cfa`) and GET /api/stats
// (frigate/stats/util.py: cameras.<name>.camera_fps…, detectors.<name>.inference_speed…, service…).

export interface FrigateStats {
  cameras: Record<string, { cameraFps: number; processFps: number; detectionFps: number }>;
  detectors: Record<string, { inferenceSpeed: number }>;
  detectionFps: number;
  version?: string;
  uptime?: number;
  temperatures: Record<string, number>;
}

export function parseFrigateVersion(text: string): string | null {
  const v = text.trim();
  return /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(v) ? v : null;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function parseFrigateStats(text: string): FrigateStats {
  const raw = obj(JSON.parse(text));
  const cameras: FrigateStats['cameras'] = {};
  for (const [name, c] of Object.entries(obj(raw.cameras))) {
    const o = obj(c);
    cameras[name] = { cameraFps: num(o.camera_fps), processFps: num(o.process_fps), detectionFps: num(o.detection_fps) };
  }
  const detectors: FrigateStats['detectors'] = {};
  for (const [name, d] of Object.entries(obj(raw.detectors))) detectors[name] = { inferenceSpeed: num(obj(d).inference_speed) };
  const service = obj(raw.service);
  const temperatures: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(service.temperatures))) temperatures[k] = num(v);
  return {
    cameras,
    detectors,
    detectionFps: num(raw.detection_fps),
    version: typeof service.version === 'string' ? service.version : undefined,
    uptime: typeof service.uptime === 'number' ? service.uptime : undefined,
    temperatures,
  };
}

export interface HealthRules {
  /** The detector that must be the Coral (its key in the config's `detectors`). */
  detector: string;
  maxInferenceMs: number;
  minCameraFps: number;
}

/** Healthy: the Coral detector answers in a sane time and every camera runs above the minimum fps. */
export function judgeFrigate(stats: FrigateStats, rules: HealthRules): { healthy: boolean; evidence: string[] } {
  const evidence: string[] = [];
  let healthy = true;
  const bad = (why: string) => {
    healthy = false;
    evidence.push(`NOT HEALTHY: ${why}`);
  };
  const det = stats.detectors[rules.detector];
  if (!det) bad(`no detector "${rules.detector}" in /api/stats (detectors: ${Object.keys(stats.detectors).join(', ') || 'none'})`);
  else if (!(det.inferenceSpeed > 0 && det.inferenceSpeed <= rules.maxInferenceMs)) {
    bad(`detector ${rules.detector} inference speed ${det.inferenceSpeed} ms (a Coral needs ≤ ${rules.maxInferenceMs} ms; 5-10 is typical)`);
  } else evidence.push(`detector ${rules.detector}: inference ${det.inferenceSpeed} ms`);
  const names = Object.keys(stats.cameras);
  if (names.length === 0) bad('no cameras in /api/stats');
  for (const name of names) {
    const fps = stats.cameras[name]!.cameraFps;
    if (!(fps > rules.minCameraFps)) bad(`camera ${name} at ${fps} fps (needs > ${rules.minCameraFps})`);
    else evidence.push(`camera ${name}: ${fps} fps`);
  }
  return { healthy, evidence };
}
