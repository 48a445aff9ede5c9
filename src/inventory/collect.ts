import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeAddressesCommand,
  DescribeRegionsCommand,
  EC2Client,
  paginateDescribeInstances,
  paginateDescribeNatGateways,
  paginateDescribeNetworkInterfaces,
  paginateDescribeVpcEndpoints,
  type EC2ClientConfig,
} from '@aws-sdk/client-ec2';
import { IAMClient, paginateGetAccountAuthorizationDetails, type IAMClientConfig } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { AwsError, InputError, isNetworkFailure, OffboxError, sdkFailure, UsageError } from '../errors.js';

/** Options of {@link collectInventory}. */
export interface CollectInventoryOptions {
  /** Output folder; files go to `out/ACCOUNT/REGION/…` and `out/ACCOUNT/iam-…`. */
  out: string;
  /** Named profile for credentials (and the default region) from the AWS config files. */
  profile?: string;
  /** Regions to collect EC2 inventory from. */
  regions?: string[];
  /** Every region enabled for the account (EC2 DescribeRegions). */
  allRegions?: boolean;
  /** One endpoint for STS, IAM and EC2 (LocalStack, moto …). */
  endpointUrl?: string;
  /** Ready clients (tests, or callers sharing them); missing ones are built from the options above. */
  clients?: {
    sts?: STSClient;
    iam?: IAMClient;
    ec2ForRegion?: (region: string) => EC2Client;
  };
  /** Progress lines, and warnings starting `warning: `, one line per call. */
  onStatus?: (line: string) => void;
}

/** What {@link collectInventory} wrote. */
export interface CollectInventoryResult {
  accountId: string;
  /** Regions attempted, sorted. */
  regions: string[];
  /** Files written, sorted. */
  files: string[];
  /**
   * Items per kind over all regions: `reservations`, `instances`, `networkInterfaces`, `addresses`,
   * `natGateways`, `vpcEndpoints`, `users`, `groups`, `roles`, `policies`.
   */
  counts: Record<string, number>;
  /** Regions, calls and documents that could not be collected; the rest was still written. */
  warnings: string[];
}

/** File names the `--inventory` reader expects; it recognises each by its top-level key. */
export const INVENTORY_FILES = {
  instances: 'ec2-describe-instances.json',
  networkInterfaces: 'ec2-describe-network-interfaces.json',
  addresses: 'ec2-describe-addresses.json',
  natGateways: 'ec2-describe-nat-gateways.json',
  vpcEndpoints: 'ec2-describe-vpc-endpoints.json',
  iam: 'iam-get-account-authorization-details.json',
} as const;

const REGION_CONCURRENCY = 4;
// The largest page every one of these APIs accepts: fewer calls, less throttling.
const PAGE_SIZE = 1000;
const MAX_ATTEMPTS = 5;
const REGION_RE = /^[a-z]{2}(-[a-z0-9]+)+-\d+$/;
const ACCOUNT_RE = /^\d{12}$/;

/** Parses `--regions eu-west-1,us-east-1`; throws a UsageError for anything that is not a region name. */
export function parseRegionList(value: string): string[] {
  const regions = [
    ...new Set(
      value
        .split(',')
        .map((region) => region.trim())
        .filter((region) => region !== ''),
    ),
  ];
  if (regions.length === 0) {
    throw new UsageError('--regions is empty', 'list regions separated by commas, e.g. --regions eu-west-1,us-east-1');
  }
  for (const region of regions) {
    if (!REGION_RE.test(region)) {
      throw new UsageError(
        `--regions: ${region} is not a region name`,
        'list regions separated by commas, e.g. --regions eu-west-1,us-east-1',
      );
    }
  }
  return regions;
}

interface Ec2Kind {
  kind: Exclude<keyof typeof INVENTORY_FILES, 'iam'>;
  key: string;
  label: string;
  noun: [one: string, many: string];
  fetch(client: EC2Client): Promise<unknown[]>;
}

async function mergePages<K extends string>(
  pages: AsyncIterable<Partial<Record<K, unknown[] | undefined>>>,
  key: K,
): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const page of pages) items.push(...(page[key] ?? []));
  return items;
}

const EC2_KINDS: readonly Ec2Kind[] = [
  {
    kind: 'instances',
    key: 'Reservations',
    noun: ['instance', 'instances'],
    label: 'DescribeInstances',
    fetch: (client) => mergePages(paginateDescribeInstances({ client, pageSize: PAGE_SIZE }, {}), 'Reservations'),
  },
  {
    kind: 'networkInterfaces',
    key: 'NetworkInterfaces',
    noun: ['network interface', 'network interfaces'],
    label: 'DescribeNetworkInterfaces',
    fetch: (client) =>
      mergePages(paginateDescribeNetworkInterfaces({ client, pageSize: PAGE_SIZE }, {}), 'NetworkInterfaces'),
  },
  {
    kind: 'addresses',
    key: 'Addresses',
    noun: ['Elastic IP', 'Elastic IPs'],
    label: 'DescribeAddresses',
    // DescribeAddresses has no pagination: one call returns every address.
    fetch: async (client) => (await client.send(new DescribeAddressesCommand({}))).Addresses ?? [],
  },
  {
    kind: 'natGateways',
    key: 'NatGateways',
    noun: ['NAT gateway', 'NAT gateways'],
    label: 'DescribeNatGateways',
    fetch: (client) => mergePages(paginateDescribeNatGateways({ client, pageSize: PAGE_SIZE }, {}), 'NatGateways'),
  },
  {
    kind: 'vpcEndpoints',
    key: 'VpcEndpoints',
    noun: ['VPC endpoint', 'VPC endpoints'],
    label: 'DescribeVpcEndpoints',
    fetch: (client) => mergePages(paginateDescribeVpcEndpoints({ client, pageSize: PAGE_SIZE }, {}), 'VpcEndpoints'),
  },
];

interface CallContext {
  profile: string | undefined;
  endpointUrl: string | undefined;
}

// fatal: stop the run; region: skip the rest of the region; denied/call: skip this call only.
type FailureScope = 'fatal' | 'region' | 'denied' | 'call';

interface Failure {
  scope: FailureScope;
  error: OffboxError;
}

const REJECTED_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'AuthFailure',
]);

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Forbidden']);

function classifyFailure(err: unknown, call: string, region: string | undefined, ctx: CallContext): Failure {
  if (err instanceof OffboxError) return { scope: 'fatal', error: err };
  const { name, code, message, status } = sdkFailure(err);
  const profile = ctx.profile !== undefined ? ` (profile ${ctx.profile})` : '';
  const where = region !== undefined ? ` in ${region}` : '';
  const opts = { cause: err };

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return {
      scope: 'fatal',
      error: new AwsError(
        `no AWS credentials found${profile}: ${message}`,
        ctx.profile !== undefined
          ? `check that profile ${ctx.profile} exists in ~/.aws/config (aws configure --profile ${ctx.profile}), or log in to it (aws sso login --profile ${ctx.profile})`
          : 'run `aws configure`, set AWS_PROFILE, or pass --profile',
        opts,
      ),
    };
  }
  if (['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired', 'RequestExpired'].includes(name)) {
    return {
      scope: 'fatal',
      error: new AwsError(
        `AWS credentials have expired${profile}`,
        ctx.profile !== undefined
          ? `refresh them (e.g. aws sso login --profile ${ctx.profile}) and run again`
          : 'refresh them (e.g. aws sso login) and run again',
        opts,
      ),
    };
  }
  if (/region is missing/i.test(message)) {
    return {
      scope: 'fatal',
      error: new UsageError(
        'no AWS region configured',
        'pass --regions or --all-regions, set AWS_REGION, or set a region in the profile',
        opts,
      ),
    };
  }
  if (REJECTED_CREDENTIALS.has(name) || name === 'OptInRequired') {
    // Credentials that STS accepted but a region rejects mean the region is not enabled for the account.
    if (region !== undefined) {
      return {
        scope: 'region',
        error: new AwsError(
          `region ${region} rejected the credentials${profile} (${name}): it is probably not enabled for this account`,
          `enable it (Account settings → AWS Regions) or leave it out of --regions`,
          opts,
        ),
      };
    }
    return {
      scope: 'fatal',
      error: new AwsError(
        `AWS rejected the credentials${profile} (${name}): ${message}`,
        'check the access key and secret, or pass --profile with working credentials',
        opts,
      ),
    };
  }
  if (DENIED.has(name) || DENIED.has(code) || status === 403) {
    return {
      scope: 'denied',
      error: new AwsError(
        `${call} denied${where}${profile}: ${message}`,
        `allow ${call} to these credentials (the ReadOnlyAccess or SecurityAudit managed policies do), or check for an SCP that denies it${where}`,
        opts,
      ),
    };
  }
  if (isNetworkFailure({ name, code })) {
    return {
      scope: region !== undefined ? 'region' : 'fatal',
      error: new AwsError(
        `cannot reach AWS for ${call}${where}${ctx.endpointUrl !== undefined ? ` at ${ctx.endpointUrl}` : ''}: ${code || name} ${message}`.trim(),
        ctx.endpointUrl !== undefined
          ? 'check --endpoint-url and that the server is running'
          : 'check the network connection and the region names',
        opts,
      ),
    };
  }
  return {
    scope: 'call',
    error: new AwsError(
      `${call} failed${where}: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
      `compare with the AWS CLI using the same profile (aws ${call.startsWith('iam:') ? 'iam' : 'ec2'} …), then run again`,
      opts,
    ),
  };
}

function warningText(error: OffboxError): string {
  return error.hint !== undefined ? `${error.message} — ${error.hint}` : error.message;
}

const POLICY_DOCUMENT_KEYS = new Set(['PolicyDocument', 'AssumeRolePolicyDocument', 'Document']);

/**
 * Decodes IAM's URL-encoded policy documents in place, as the AWS CLI does, wherever they occur (inline
 * policies, trust policies, managed policy versions, roles nested in instance profiles). Returns how many
 * documents could not be decoded; those stay strings.
 */
export function decodePolicyDocuments(value: unknown): number {
  let undecodable = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    for (const [key, child] of Object.entries(record)) {
      if (POLICY_DOCUMENT_KEYS.has(key) && typeof child === 'string') {
        try {
          record[key] = JSON.parse(decodeURIComponent(child)) as unknown;
        } catch {
          undecodable += 1;
        }
      } else {
        visit(child);
      }
    }
  };
  visit(value);
  return undecodable;
}

function writeJsonAtomically(target: string, value: unknown): void {
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
    // Rename is atomic: a reader (or a crash) never sees half a file.
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new InputError(
      `cannot write ${target}: ${(error as Error).message}`,
      'check the --out folder and its permissions',
      { cause: error },
    );
  }
}

function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new InputError(
      `cannot create ${path}: ${(error as Error).message}`,
      'check the --out folder and its permissions',
      { cause: error },
    );
  }
}

interface SharedClientConfig {
  profile?: string;
  credentials?: ReturnType<typeof fromNodeProviderChain>;
  endpoint?: string;
  maxAttempts: number;
}

function sharedClientConfig(options: CollectInventoryOptions): SharedClientConfig {
  const config: SharedClientConfig = { maxAttempts: MAX_ATTEMPTS };
  if (options.profile !== undefined) {
    config.profile = options.profile;
    config.credentials = fromNodeProviderChain({ profile: options.profile });
  }
  if (options.endpointUrl !== undefined) config.endpoint = options.endpointUrl;
  return config;
}

async function configuredRegion(client: { config?: { region?: unknown } }): Promise<string | undefined> {
  try {
    const provider = client.config?.region;
    const region: unknown = typeof provider === 'function' ? await (provider as () => Promise<unknown>)() : provider;
    return typeof region === 'string' && region !== '' ? region : undefined;
  } catch {
    return undefined;
  }
}

async function mapLimit<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const run = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await worker(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  // allSettled, not all: no request may still be writing files after the caller has seen the error.
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, run));
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Collects the AWS inventory that `offbox scan --inventory DIR` reads, with the SDK and the standard
 * credential chain: for the caller's account, EC2 instances, network interfaces, Elastic IPs, NAT gateways
 * and VPC endpoints per region, and IAM users, groups, roles and policies once. Each file holds exactly
 * what `aws … --output json` prints (all pages merged, policy documents decoded) and is written atomically
 * to `out/ACCOUNT/REGION/ec2-describe-….json` or `out/ACCOUNT/iam-get-account-authorization-details.json`.
 *
 * A region that is disabled or denied, a denied EC2 call, or denied IAM access is a warning; the rest is
 * still written. Missing, expired or rejected credentials, no region at all, or no EC2 data from any region
 * throw an AwsError or UsageError whose hint says what to do.
 */
export async function collectInventory(options: CollectInventoryOptions): Promise<CollectInventoryResult> {
  if (options.out === '') throw new UsageError('--out is empty', 'pass the folder to write the inventory to');
  if (options.allRegions === true && options.regions !== undefined) {
    throw new UsageError('--regions and --all-regions exclude each other', 'pass one of them');
  }
  const requested = options.regions !== undefined ? parseRegionList(options.regions.join(',')) : undefined;
  const onStatus = options.onStatus ?? (() => {});
  const ctx: CallContext = { profile: options.profile, endpointUrl: options.endpointUrl };
  const shared = sharedClientConfig(options);
  const created: { destroy(): void }[] = [];
  const warnings: string[] = [];
  const warn = (line: string): void => {
    warnings.push(line);
    onStatus(`warning: ${line}`);
  };

  try {
    let sts = options.clients?.sts;
    let defaultRegion: string | undefined;
    if (sts !== undefined) {
      defaultRegion = await configuredRegion(sts);
    } else {
      const probe = new STSClient(shared as STSClientConfig);
      created.push(probe);
      defaultRegion = await configuredRegion(probe);
    }
    // STS, IAM and DescribeRegions need some region; an endpoint server or the global endpoints accept any.
    const homeRegion =
      defaultRegion ??
      requested?.[0] ??
      (options.allRegions === true || options.endpointUrl !== undefined ? 'us-east-1' : undefined);
    if (homeRegion === undefined) {
      throw new UsageError(
        'no AWS region configured',
        'pass --regions eu-west-1,… or --all-regions, set AWS_REGION, or set a region in the profile',
      );
    }
    if (sts === undefined) {
      sts = new STSClient({ ...shared, region: homeRegion } as STSClientConfig);
      created.push(sts);
    }
    const ec2ForRegion =
      options.clients?.ec2ForRegion ??
      ((region: string) => {
        const client = new EC2Client({ ...shared, region } as EC2ClientConfig);
        created.push(client);
        return client;
      });

    let accountId: string;
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      accountId = identity.Account ?? '';
    } catch (error) {
      throw classifyFailure(error, 'sts:GetCallerIdentity', undefined, ctx).error;
    }
    if (!ACCOUNT_RE.test(accountId)) {
      throw new AwsError(
        `sts:GetCallerIdentity returned no valid account id (${JSON.stringify(accountId)})`,
        options.endpointUrl !== undefined
          ? 'check that --endpoint-url serves STS'
          : 'run `aws sts get-caller-identity` with the same profile',
      );
    }
    onStatus(`collecting inventory of account ${accountId} into ${options.out}`);

    let regions: string[];
    if (requested !== undefined) {
      regions = requested;
    } else if (options.allRegions === true) {
      try {
        const described = await ec2ForRegion(homeRegion).send(new DescribeRegionsCommand({ AllRegions: false }));
        regions = (described.Regions ?? [])
          .map((region) => region.RegionName ?? '')
          .filter((region) => REGION_RE.test(region));
      } catch (error) {
        const failure = classifyFailure(error, 'ec2:DescribeRegions', homeRegion, ctx);
        if (failure.scope === 'fatal') throw failure.error;
        throw new AwsError(
          `cannot list the enabled regions: ${failure.error.message}`,
          `${failure.error.hint ?? 'check the credentials'}; or pass --regions instead of --all-regions`,
          { cause: error },
        );
      }
      if (regions.length === 0) {
        throw new AwsError('ec2:DescribeRegions returned no regions', 'pass --regions instead of --all-regions');
      }
    } else {
      regions = [homeRegion];
    }
    regions = [...new Set(regions)].sort();

    const accountDir = join(options.out, accountId);
    makeDirectory(accountDir);
    const files: string[] = [];
    const counts: Record<string, number> = {
      reservations: 0,
      instances: 0,
      networkInterfaces: 0,
      addresses: 0,
      natGateways: 0,
      vpcEndpoints: 0,
      users: 0,
      groups: 0,
      roles: 0,
      policies: 0,
    };
    const add = (kind: string, count: number): void => {
      counts[kind] = (counts[kind] ?? 0) + count;
    };

    // IAM first: a fatal credential problem shows before any regional work starts.
    let iam = options.clients?.iam;
    if (iam === undefined) {
      iam = new IAMClient({ ...shared, region: homeRegion } as IAMClientConfig);
      created.push(iam);
    }
    try {
      const details = {
        UserDetailList: [] as unknown[],
        GroupDetailList: [] as unknown[],
        RoleDetailList: [] as unknown[],
        Policies: [] as unknown[],
      };
      for await (const page of paginateGetAccountAuthorizationDetails({ client: iam, pageSize: PAGE_SIZE }, {})) {
        details.UserDetailList.push(...(page.UserDetailList ?? []));
        details.GroupDetailList.push(...(page.GroupDetailList ?? []));
        details.RoleDetailList.push(...(page.RoleDetailList ?? []));
        details.Policies.push(...(page.Policies ?? []));
      }
      const undecodable = decodePolicyDocuments(details);
      if (undecodable > 0) {
        warn(`${plural(undecodable, 'IAM policy document')} could not be decoded and stay URL-encoded strings`);
      }
      const file = join(accountDir, INVENTORY_FILES.iam);
      writeJsonAtomically(file, details);
      files.push(file);
      add('users', details.UserDetailList.length);
      add('groups', details.GroupDetailList.length);
      add('roles', details.RoleDetailList.length);
      add('policies', details.Policies.length);
      onStatus(
        `iam: ${plural(details.RoleDetailList.length, 'role')}, ${plural(details.UserDetailList.length, 'user')}, ${plural(details.GroupDetailList.length, 'group')}, ${plural(details.Policies.length, 'managed policy', 'managed policies')}`,
      );
    } catch (error) {
      if (error instanceof InputError) throw error;
      const failure = classifyFailure(error, 'iam:GetAccountAuthorizationDetails', undefined, ctx);
      if (failure.scope === 'fatal') throw failure.error;
      warn(
        `${warningText(failure.error)}; without it the inventory lacks roles and their privileges, so findings cannot say what a stolen credential could do`,
      );
    }

    let ec2Files = 0;
    let firstRegionFailure: OffboxError | undefined;
    await mapLimit(regions, REGION_CONCURRENCY, async (region) => {
      const client = ec2ForRegion(region);
      const regionDir = join(accountDir, region);
      const regionCounts: string[] = [];
      const failed: { kind: Ec2Kind; failure: Failure }[] = [];
      for (const kind of EC2_KINDS) {
        let items: unknown[];
        try {
          items = await kind.fetch(client);
        } catch (error) {
          const failure = classifyFailure(error, `ec2:${kind.label}`, region, ctx);
          if (failure.scope === 'fatal') throw failure.error;
          failed.push({ kind, failure });
          if (failure.scope === 'region') break;
          continue;
        }
        makeDirectory(regionDir);
        const file = join(regionDir, INVENTORY_FILES[kind.kind]);
        writeJsonAtomically(file, { [kind.key]: items });
        files.push(file);
        ec2Files += 1;
        if (kind.kind === 'instances') {
          const instances = items.reduce<number>(
            (sum, reservation) => sum + ((reservation as { Instances?: unknown[] }).Instances?.length ?? 0),
            0,
          );
          add('reservations', items.length);
          add('instances', instances);
          regionCounts.push(plural(instances, ...kind.noun));
        } else {
          add(kind.kind, items.length);
          regionCounts.push(plural(items.length, ...kind.noun));
        }
      }
      const first = failed[0];
      if (first !== undefined) firstRegionFailure ??= first.failure.error;
      if (first !== undefined && (first.failure.scope === 'region' || failed.length === EC2_KINDS.length)) {
        // One line for a region that gave nothing, not one per call.
        warn(`${region} skipped: ${warningText(first.failure.error)}`);
        return;
      }
      for (const { failure } of failed) warn(warningText(failure.error));
      onStatus(`${region}: ${regionCounts.join(', ')}`);
    });

    if (ec2Files === 0) {
      throw new AwsError(
        `no EC2 inventory collected in any region${firstRegionFailure !== undefined ? `: ${firstRegionFailure.message}` : ''}`,
        firstRegionFailure?.hint ?? 'check the credentials and --regions',
        { cause: firstRegionFailure },
      );
    }
    return { accountId, regions, files: files.sort(), counts, warnings };
  } finally {
    for (const client of created) client.destroy();
  }
}
