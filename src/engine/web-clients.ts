/**
 * Who sent web requests, and when: one compact summary per client address, kept while web logs are read
 * so that incidents can link a client that scanned the web tier to the same address using a workload's
 * credential later (engine/incidents.ts, the `same-client-address` link). Memory is bounded by a cap on
 * addresses; what the cap turns away is counted, never silently lost.
 */
import type { SourceClass } from '../detect/finding.js';
import { canonicalAddress, type AddressOwner, type OwnershipMap } from '../inventory/ownership.js';
import { parseIp } from '../net/ip.js';
import { classifySpecial } from '../net/special-ranges.js';
import type { WebRequest } from '../weblogs/request.js';

/** Client addresses kept by default: about 220 MB of heap when full (measured, 1e6 IPv4 clients). */
export const MAX_WEB_CLIENTS = 1_000_000;
const MAX_DROPPED_TRACKED = 100_000;
const MAX_HOST_CHARS = 100;

/** What the web logs say about one client address. */
export interface WebClientSummary {
  /** Canonical address text, as the source classifier writes it. */
  ip: string;
  /** Epoch ms of the first and last request with a readable time (NaN when none had one). */
  firstMs: number;
  lastMs: number;
  requests: number;
  /** Requests answered 4xx or 5xx (probes mostly are). */
  errors: number;
  /** The first Host asked for ('' when none was logged); untrusted text, truncated: escape at every sink. */
  host: string;
  /** True when the client asked for other hosts too. */
  moreHosts: boolean;
  /**
   * The org resource the inventory says held the address at the first request, when it is a shared front
   * (NAT gateway, VPC endpoint, a network interface of no instance such as a load balancer's); '' otherwise.
   */
  sharedOwner: string;
}

/** Looks a client up by address; what `buildIncidents` needs from a {@link WebClientIndex}. */
export interface WebClientLookup {
  get(ip: string): WebClientSummary | undefined;
}

function sameHost(kept: string, host: string): boolean {
  return kept === host || (host.length > MAX_HOST_CHARS && kept === `${host.slice(0, MAX_HOST_CHARS)}…`);
}

/** A copy that does not keep the log line it was cut from alive (V8 slices share their parent's memory). */
function detached(value: string): string {
  const cut = value.length > MAX_HOST_CHARS ? `${value.slice(0, MAX_HOST_CHARS)}…` : value;
  return Buffer.from(cut, 'utf8').toString('utf8');
}

function sharedOwnerOf(owners: readonly AddressOwner[]): string {
  for (const o of owners) {
    const account = o.accountId ? ` of account ${o.accountId}` : '';
    if (o.kind === 'nat-gateway') return `NAT gateway ${o.natGatewayId || '(unnamed)'}${account}`;
    if (o.kind === 'vpc-endpoint') return `VPC endpoint ${o.vpcEndpointId || '(unnamed)'}${account}`;
    if (o.kind === 'network-interface' && o.instanceId === '') {
      return `network interface ${o.networkInterfaceId || '(unnamed)'}${account} (a load balancer or other managed front)`;
    }
  }
  return '';
}

/**
 * Per-client first/last seen and counts over every web request read, with or without a finding. Holds at
 * most `maxClients` addresses; requests from addresses beyond it are counted in `droppedRequests`.
 */
export class WebClientIndex implements WebClientLookup {
  private readonly byIp = new Map<string, WebClientSummary>();
  /** Raw text → canonical text, only for the rare client addresses not already canonical. */
  private readonly aliases = new Map<string, string>();
  /** Distinct addresses turned away by the cap: exact up to 100,000 of them, a lower bound beyond. */
  droppedClients = 0;
  /** Requests from addresses the cap turned away. */
  droppedRequests = 0;
  private readonly dropped = new Set<string>();

  constructor(private readonly options: { maxClients?: number; ownership?: Pick<OwnershipMap, 'ownersAt'> } = {}) {}

  /**
   * Counts one request. Requests that name no client, and text-log lines (whose address may be anything the
   * application printed), are ignored.
   */
  add(request: Pick<WebRequest, 'clientIp' | 'timeMs' | 'status' | 'host' | 'format'>): void {
    const raw = request.clientIp;
    if (raw === '' || request.format === 'text') return;
    let summary = this.byIp.get(raw);
    if (summary === undefined) {
      const alias = this.aliases.get(raw);
      const ip = alias ?? canonicalAddress(raw);
      summary = this.byIp.get(ip);
      if (summary === undefined) {
        if (this.byIp.size >= (this.options.maxClients ?? MAX_WEB_CLIENTS)) {
          this.droppedRequests += 1;
          if (!this.dropped.has(ip) && this.dropped.size < MAX_DROPPED_TRACKED) {
            this.dropped.add(ip);
            this.droppedClients += 1;
          }
          return;
        }
        summary = {
          ip,
          firstMs: Number.NaN,
          lastMs: Number.NaN,
          requests: 0,
          errors: 0,
          host: '',
          moreHosts: false,
          sharedOwner: this.options.ownership ? sharedOwnerOf(this.options.ownership.ownersAt(ip, request.timeMs)) : '',
        };
        this.byIp.set(ip, summary);
      }
      if (ip !== raw && this.aliases.size < 10_000) this.aliases.set(raw, ip);
    }
    summary.requests += 1;
    if (request.status >= 400) summary.errors += 1;
    const t = request.timeMs;
    if (!Number.isNaN(t)) {
      if (!(t >= summary.firstMs)) summary.firstMs = t;
      if (!(t <= summary.lastMs)) summary.lastMs = t;
    }
    const host = request.host;
    if (host !== '' && !summary.moreHosts) {
      if (summary.host === '') summary.host = detached(host);
      else if (!sameHost(summary.host, host)) summary.moreHosts = true;
    }
  }

  get(ip: string): WebClientSummary | undefined {
    return this.byIp.get(canonicalAddress(ip));
  }

  /** Addresses held. */
  get size(): number {
    return this.byIp.size;
  }
}

/**
 * Why `ip` cannot stand for one client, '' when it can. Private space (RFC 1918, CGNAT 100.64/10, link-local,
 * ULA) is what NAT gateways, proxies and load balancers present; loopback and the other special-purpose blocks
 * (documentation, benchmarking, translators …) are never one client's public address; an allowedSourceCidrs
 * address is your own egress; an AWS service name is not an address. Such an address is shared by many
 * clients, so the same address on both sides says nothing about who was behind it.
 */
export function sharedAddressReason(ip: string, sourceClass?: SourceClass): string {
  if (sourceClass === 'aws-service') return `${ip} names an AWS service, not a client`;
  if (sourceClass === 'allowed') return `${ip} is in allowedSourceCidrs: your own egress, shared by your people`;
  const parsed = parseIp(ip);
  if (parsed === undefined) return 'not an IP address';
  const special = classifySpecial(parsed);
  if (special === undefined) return '';
  return special.kind === 'private'
    ? `${canonicalAddress(ip)} is in ${special.name} space (${special.rfc}): a NAT, proxy or load-balancer address, shared by many clients`
    : `${canonicalAddress(ip)} is in ${special.name} space (${special.rfc}): not one client's routable address`;
}
