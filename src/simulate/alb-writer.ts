/**
 * Application Load Balancer access logs: one gzip file per load-balancer node and 5-minute
 * interval, lines with all 33 documented fields in AWS's order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipReproducible } from './cloudtrail-writer.js';
import type { Alb } from './organisation.js';
import type { Rng } from './prng.js';
import { MINUTE, datePath, fileStamp, isoMicros } from './time.js';

const WINDOW = 5 * MINUTE;

/** One request as the load balancer logs it. */
export interface WebRequest {
  /** Response time (the line's `time`), epoch ms. */
  time: number;
  accountId: string;
  region: string;
  alb: Alb;
  node: number;
  clientIp: string;
  clientPort: number;
  /** The target instance's private IP; undefined when the ALB answered itself. */
  targetIp?: string;
  method: string;
  /** Absolute-form URL as the client sent it (ALB does not decode it). */
  url: string;
  protocol: 'HTTP/1.1' | 'HTTP/2.0';
  status: number;
  targetStatus?: number;
  received: number;
  sent: number;
  userAgent: string;
  /** Seconds: request, target, response processing. */
  timings: [number, number, number];
}

export interface AlbWriterOptions {
  root: string;
  start: number;
  rng: Rng;
  level: number;
}

function quoted(value: string): string {
  return `"${value.replace(/"/g, '\\"')}"`;
}

/** Formats one access-log line (33 fields). */
export function albLine(r: WebRequest, rng: Rng): string {
  const type = r.protocol === 'HTTP/2.0' ? 'h2' : 'https';
  const micros = rng.int(1000);
  const target = r.targetIp ? `${r.targetIp}:${r.alb.targetPort}` : '-';
  const total = r.timings[0] + r.timings[1] + r.timings[2];
  const created = isoMicros(r.time - Math.round(total * 1000) - rng.intIn(1, 30), rng.int(1000));
  const trace = `Root=1-${Math.floor(r.time / 1000).toString(16)}-${rng.hex(24)}`;
  const fields = [
    type,
    isoMicros(r.time, micros),
    `app/${r.alb.name}/${r.alb.id}`,
    `${r.clientIp}:${r.clientPort}`,
    target,
    r.timings[0].toFixed(3),
    r.targetIp ? r.timings[1].toFixed(3) : '-1',
    r.targetIp ? r.timings[2].toFixed(3) : '-1',
    String(r.status),
    r.targetStatus === undefined ? '-' : String(r.targetStatus),
    String(r.received),
    String(r.sent),
    quoted(`${r.method} ${r.url} ${r.protocol}`),
    quoted(r.userAgent),
    'TLS_AES_128_GCM_SHA256',
    'TLSv1.3',
    r.alb.targetGroupArn,
    quoted(trace),
    quoted(r.alb.domain),
    quoted(r.alb.certificateArn),
    r.targetIp ? '1' : '0',
    created,
    quoted(r.targetIp ? 'forward' : 'fixed-response'),
    '"-"',
    '"-"',
    quoted(target),
    quoted(r.targetStatus === undefined ? '-' : String(r.targetStatus)),
    '"-"',
    '"-"',
    `TID_${rng.hex(32)}`,
    '"-"',
    '"-"',
    '"-"',
  ];
  return fields.join(' ');
}

export class AlbWriter {
  lines = 0;
  files = 0;
  private readonly buffers = new Map<
    string,
    { request: WebRequest; window: number; lines: { time: number; text: string }[] }
  >();
  private readonly writes: Promise<unknown>[] = [];
  private readonly lineRng: Rng;

  constructor(private readonly o: AlbWriterOptions) {
    this.lineRng = o.rng.fork('lines');
  }

  add(request: WebRequest): void {
    const window = Math.floor((request.time - this.o.start) / WINDOW);
    const key = `${request.alb.arn}|${request.node}|${window}`;
    let buffer = this.buffers.get(key);
    if (!buffer) {
      buffer = { request, window, lines: [] };
      this.buffers.set(key, buffer);
    }
    buffer.lines.push({ time: request.time, text: albLine(request, this.lineRng) });
    this.lines++;
  }

  /** Writes every file of windows ≤ `window`. */
  flushThrough(window: number): void {
    for (const [key, buffer] of this.buffers) {
      if (buffer.window > window) continue;
      this.buffers.delete(key);
      const { request } = buffer;
      const end = this.o.start + (buffer.window + 1) * WINDOW;
      const [y, m, d] = datePath(end);
      const node = request.alb.nodes[request.node]!;
      const suffix = this.o.rng.fork(`file:${key}`).lowerAlnum(8);
      const name = `${request.accountId}_elasticloadbalancing_${request.region}_app.${request.alb.name}.${request.alb.id}_${fileStamp(end)}_${node.publicIp}_${suffix}.log.gz`;
      const full = join(
        this.o.root,
        'AWSLogs',
        request.accountId,
        'elasticloadbalancing',
        request.region,
        y,
        m,
        d,
        name,
      );
      const text = `${buffer.lines
        .sort((a, b) => a.time - b.time)
        .map((l) => l.text)
        .join('\n')}\n`;
      const body = gzipReproducible(text, this.o.level);
      this.writes.push(mkdir(dirname(full), { recursive: true }).then(() => writeFile(full, body)));
      this.files++;
    }
  }

  async finish(): Promise<void> {
    this.flushThrough(Infinity);
    await Promise.all(this.writes);
  }
}
