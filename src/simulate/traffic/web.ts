/**
 * Ordinary visitors of the web tier behind each workload account's load balancer: pages,
 * API calls, static files, and the URL-preview endpoint used the way it is meant to be
 * (with ordinary URLs, large order numbers, coordinates and documentation links — the
 * things an SSRF detector must not fire on).
 */
import type { WebRequest } from '../alb-writer.js';
import type { Alb, Instance, Organisation, RegionEstate } from '../organisation.js';
import { isRunning } from '../organisation.js';
import type { Rng } from '../prng.js';
import { WEB_CLIENTS } from './agents.js';
import type { Generator, Sink } from './types.js';

export interface Visitor {
  ip: string;
  userAgent: string;
}

export interface Page {
  method: string;
  path: string;
  status: number;
  sent: number;
  received: number;
}

function page(rng: Rng, domain: string): Page {
  const p = rng.float();
  const ok = (path: string, lo: number, hi: number, method = 'GET'): Page => ({
    method,
    path,
    status: 200,
    sent: rng.intIn(lo, hi),
    received: rng.intIn(300, 900),
  });
  if (p < 0.18) return ok('/', 18_000, 42_000);
  if (p < 0.38) return ok(`/static/js/${rng.pick(['app', 'vendor', 'checkout'])}.${rng.hex(8)}.js`, 40_000, 380_000);
  if (p < 0.5) return ok(`/static/img/products/${rng.intIn(1000, 9999)}.webp`, 8_000, 90_000);
  if (p < 0.62)
    return ok(
      `/api/v1/products?category=${rng.pick(['shoes', 'jackets', 'bags', 'outdoor'])}&page=${rng.intIn(1, 12)}`,
      2_000,
      14_000,
    );
  if (p < 0.7) {
    const id = rng.intIn(1000, 9999);
    return rng.chance(0.1)
      ? { ...ok(`/api/v1/products/${id}`, 120, 200), status: 404 }
      : ok(`/api/v1/products/${id}`, 1_500, 6_000);
  }
  if (p < 0.75) return { ...ok('/api/v1/cart', 400, 1_200, 'POST'), status: 201, received: rng.intIn(600, 2_000) };
  if (p < 0.8)
    return ok(`/search?q=${rng.pick(['running+shoes', 'rain+jacket', 'backpack+30l', 'gift+card'])}`, 9_000, 30_000);
  if (p < 0.85) {
    // The link-preview feature, used as intended.
    const target = rng.pick([
      `https%3A%2F%2Fcdn.${domain}%2Fimages%2Fbanner-${rng.intIn(1, 40)}.jpg`,
      `https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D${rng.alnum(11)}`,
      `https://blog.${domain}/posts/${rng.intIn(100, 400)}-spring-collection`,
      `https%3A%2F%2Fen.wikipedia.org%2Fwiki%2FGore-Tex`,
    ]);
    return ok(`/api/v1/preview?url=${target}`, 900, 4_000);
  }
  if (p < 0.89) return ok(`/api/v1/orders/${1_772_000_000_000 + rng.int(1_000_000_000)}`, 700, 2_500);
  if (p < 0.92)
    return ok(`/api/v1/products?sku=${rng.pick(['4006381333931', '5901234123457', '0012345678905'])}`, 900, 3_000);
  if (p < 0.95)
    return ok(
      `/api/v1/stores?lat=${rng.pick(['41.169254', '40.712776', '51.507351'])}&lon=${rng.pick(['-8.611', '-74.005974', '-0.127758'])}`,
      600,
      2_400,
    );
  if (p < 0.97)
    return ok(
      '/docs/redirect?to=https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html',
      300,
      500,
    );
  if (p < 0.985) return { ...ok('/api/v1/checkout', 200, 400, 'POST'), status: 500 };
  return ok('/favicon.ico', 1_100, 1_200);
}

/** A request to `alb`, answered by `target` (or by the ALB itself when it has none). */
export function webRequest(
  estate: RegionEstate,
  alb: Alb,
  target: Instance | undefined,
  t: number,
  rng: Rng,
  visitor: Visitor,
  p: Page,
  protocol: WebRequest['protocol'],
): WebRequest {
  const request: WebRequest = {
    time: t,
    accountId: estate.account.id,
    region: estate.region,
    alb,
    node: target ? alb.nodes.findIndex((n) => n.subnet.az === target.subnet.az) : rng.int(alb.nodes.length),
    clientIp: visitor.ip,
    clientPort: rng.intIn(1024, 65535),
    method: p.method,
    url: `https://${alb.domain}:443${p.path}`,
    protocol,
    status: target ? p.status : 503,
    received: p.received,
    sent: target ? p.sent : 162,
    userAgent: visitor.userAgent,
    timings: [0.001 * rng.intIn(0, 2), target ? 0.001 * rng.intIn(2, 400) : -1, target ? 0 : -1],
  };
  if (request.node < 0) request.node = 0;
  if (target) {
    request.targetIp = target.privateIp;
    request.targetStatus = p.status;
  }
  return request;
}

export class WebGenerator implements Generator {
  readonly name = 'web';
  readonly scalable = false;
  private readonly sites: { estate: RegionEstate; alb: Alb; visitors: Visitor[]; rate: number; domain: string }[] = [];

  constructor(
    org: Organisation,
    private readonly rng: Rng,
  ) {
    for (const account of org.workloads) {
      const estate = account.regions[0]!;
      if (!estate.alb) continue;
      const visitors = Array.from({ length: 240 }, () => ({
        ip: org.book.publicAddress(rng.chance(0.65) ? 'home' : 'mobile').ip,
        userAgent: rng.pick(WEB_CLIENTS),
      }));
      this.sites.push({
        estate,
        alb: estate.alb,
        visitors,
        rate: account === org.storyAccount ? 0.5 : 0.25,
        domain: org.domain,
      });
    }
  }

  run(t0: number, t1: number, sink: Sink): void {
    const rng = this.rng;
    for (const site of this.sites) {
      const n = rng.poisson((site.rate * (t1 - t0)) / 1000);
      const targets = site.estate.instances.filter((i) => i.purpose === 'web');
      for (let i = 0; i < n; i++) {
        const t = t0 + Math.floor(rng.float() * (t1 - t0));
        const live = targets.filter((x) => isRunning(x, t));
        const target = live.length ? rng.pick(live) : undefined;
        const visitor = rng.pick(site.visitors);
        sink.web(
          webRequest(
            site.estate,
            site.alb,
            target,
            t,
            rng,
            visitor,
            page(rng, site.domain),
            rng.chance(0.6) ? 'HTTP/2.0' : 'HTTP/1.1',
          ),
        );
      }
    }
  }
}
