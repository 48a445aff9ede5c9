// IAM, EC2 and STS are mocked: unlike S3 (s3rver), no local server exists for them, and tests must never
// reach AWS. The mocks are real SDK client instances (the paginators check `instanceof`) whose `send` is
// replaced before first use, and a guard on net.Socket#connect proves that nothing tried the network.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetAccountAuthorizationDetailsCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsError, UsageError } from '../errors.js';
import { collectInventory, decodePolicyDocuments, parseRegionList, type CollectInventoryOptions } from './collect.js';

const ACCOUNT = '111122223333';
const FAKE_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'not-a-secret' };
// A closed local port: even if a mock were bypassed, the request could not leave the machine.
const NOWHERE = 'http://127.0.0.1:9';
const metadata = { httpStatusCode: 200, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };

interface Call {
  client: string;
  region: string;
  command: string;
  input: Record<string, unknown>;
}

type Handler = (command: { input: Record<string, unknown> }, region: string) => unknown;

function awsError(name: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

function mocked<C extends STSClient | IAMClient | EC2Client>(
  client: C,
  region: string,
  calls: Call[],
  handler: Handler,
): C {
  Object.defineProperty(client, 'send', {
    value: async (command: { input: Record<string, unknown> }) => {
      calls.push({
        client: client.constructor.name,
        region,
        command: command.constructor.name,
        input: { ...command.input },
      });
      // Responses are copied so that mutation by the code under test cannot leak between calls.
      return structuredClone(await handler(command, region));
    },
  });
  return client;
}

const enc = (document: unknown): string => encodeURIComponent(JSON.stringify(document));
const trustPolicy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
const inlinePolicy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }],
};
const managedPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

function ec2Handler(region: string, failures: Record<string, Record<string, Error>> = {}): Handler {
  return (command, r) => {
    const failure = failures[r]?.[command.constructor.name];
    if (failure !== undefined) throw failure;
    if (command instanceof DescribeInstancesCommand) {
      const instance = (n: number) => ({
        InstanceId: `i-0${n}${r.length}aaaaaaaaaaaaaaa`.slice(0, 19),
        LaunchTime: new Date('2024-05-01T10:00:00Z'),
        PrivateIpAddress: `10.0.0.${n}`,
        PublicIpAddress: `203.0.113.${n}`,
      });
      if (command.input['NextToken'] === undefined) {
        return {
          Reservations: [{ ReservationId: 'r-1', Instances: [instance(1), instance(2)] }],
          NextToken: 'page-2',
          $metadata: metadata,
        };
      }
      assert.equal(command.input['NextToken'], 'page-2');
      return { Reservations: [{ ReservationId: 'r-2', Instances: [instance(3)] }], $metadata: metadata };
    }
    if (command instanceof DescribeNetworkInterfacesCommand) {
      return {
        NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', Association: { PublicIp: '203.0.113.1' } }],
        $metadata: metadata,
      };
    }
    if (command instanceof DescribeAddressesCommand) {
      return { Addresses: [{ PublicIp: '198.51.100.7', AllocationId: 'eipalloc-1' }], $metadata: metadata };
    }
    if (command instanceof DescribeNatGatewaysCommand) {
      return {
        NatGateways: [{ NatGatewayId: 'nat-1', CreateTime: new Date('2023-01-02T03:04:05Z') }],
        $metadata: metadata,
      };
    }
    if (command instanceof DescribeVpcEndpointsCommand) {
      return {
        VpcEndpoints: [{ VpcEndpointId: 'vpce-1', ServiceName: `com.amazonaws.${region}.s3` }],
        $metadata: metadata,
      };
    }
    if (command instanceof DescribeRegionsCommand) {
      assert.equal(command.input['AllRegions'], false);
      return { Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }], $metadata: metadata };
    }
    throw new Error(`unexpected EC2 command ${command.constructor.name}`);
  };
}

const iamHandler: Handler = (command) => {
  if (!(command instanceof GetAccountAuthorizationDetailsCommand)) throw new Error('unexpected IAM command');
  if (command.input['Marker'] === undefined) {
    return {
      RoleDetailList: [
        {
          RoleName: 'web',
          Arn: `arn:aws:iam::${ACCOUNT}:role/web`,
          CreateDate: new Date('2022-02-02T00:00:00Z'),
          AssumeRolePolicyDocument: enc(trustPolicy),
          RolePolicyList: [{ PolicyName: 'read', PolicyDocument: enc(inlinePolicy) }],
          InstanceProfileList: [
            { InstanceProfileName: 'web', Roles: [{ RoleName: 'web', AssumeRolePolicyDocument: enc(trustPolicy) }] },
          ],
        },
      ],
      UserDetailList: [],
      GroupDetailList: [],
      Policies: [],
      IsTruncated: true,
      Marker: 'marker-2',
      $metadata: metadata,
    };
  }
  assert.equal(command.input['Marker'], 'marker-2');
  return {
    RoleDetailList: [{ RoleName: 'batch', AssumeRolePolicyDocument: enc(trustPolicy), RolePolicyList: [] }],
    UserDetailList: [{ UserName: 'alice', UserPolicyList: [{ PolicyName: 'p', PolicyDocument: enc(inlinePolicy) }] }],
    GroupDetailList: [{ GroupName: 'admins', GroupPolicyList: [] }],
    Policies: [
      {
        PolicyName: 'all',
        PolicyVersionList: [{ VersionId: 'v1', IsDefaultVersion: true, Document: enc(managedPolicy) }],
      },
    ],
    IsTruncated: false,
    $metadata: metadata,
  };
};

interface Harness {
  calls: Call[];
  ec2Regions: string[];
  options: (extra?: Partial<CollectInventoryOptions>) => CollectInventoryOptions;
}

function harness(
  out: string,
  opts: { sts?: Handler; iam?: Handler; ec2?: Handler; stsRegion?: string | null } = {},
): Harness {
  const calls: Call[] = [];
  const ec2Regions: string[] = [];
  const stsRegion = opts.stsRegion === undefined ? 'us-east-1' : opts.stsRegion;
  const stsConfig = {
    credentials: FAKE_CREDENTIALS,
    endpoint: NOWHERE,
    ...(stsRegion !== null ? { region: stsRegion } : {}),
  };
  const sts = mocked(
    new STSClient(stsConfig),
    stsRegion ?? 'none',
    calls,
    opts.sts ??
      ((command) => {
        assert.ok(command instanceof GetCallerIdentityCommand, `unexpected STS command ${command.constructor.name}`);
        return { Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ci`, UserId: 'AIDA', $metadata: metadata };
      }),
  );
  const iam = mocked(
    new IAMClient({ region: 'us-east-1', credentials: FAKE_CREDENTIALS, endpoint: NOWHERE }),
    'us-east-1',
    calls,
    opts.iam ?? iamHandler,
  );
  const ec2ForRegion = (region: string): EC2Client => {
    ec2Regions.push(region);
    return mocked(
      new EC2Client({ region, credentials: FAKE_CREDENTIALS, endpoint: NOWHERE }),
      region,
      calls,
      opts.ec2 ?? ec2Handler(region),
    );
  };
  return {
    calls,
    ec2Regions,
    options: (extra = {}) => ({ out, clients: { sts, iam, ec2ForRegion }, ...extra }),
  };
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

let out: string;
let connectAttempts: string[];
const originalConnect = net.Socket.prototype.connect;

beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), 'offbox-inventory-'));
  connectAttempts = [];
  net.Socket.prototype.connect = function guardedConnect(...args: unknown[]) {
    connectAttempts.push(JSON.stringify(args[0]));
    throw new Error('tests must not open network connections');
  } as typeof net.Socket.prototype.connect;
});

afterEach(() => {
  net.Socket.prototype.connect = originalConnect;
  rmSync(out, { recursive: true, force: true });
  assert.deepEqual(connectAttempts, [], 'a network connection was attempted');
});

describe('collectInventory', () => {
  it('writes AWS CLI-shaped files per account and region, with pages merged', async () => {
    const h = harness(out);
    const lines: string[] = [];
    const result = await collectInventory(h.options({ regions: ['eu-west-1'], onStatus: (l) => lines.push(l) }));

    assert.equal(result.accountId, ACCOUNT);
    assert.deepEqual(result.regions, ['eu-west-1']);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(listFiles(out), [
      `${ACCOUNT}/eu-west-1/ec2-describe-addresses.json`,
      `${ACCOUNT}/eu-west-1/ec2-describe-instances.json`,
      `${ACCOUNT}/eu-west-1/ec2-describe-nat-gateways.json`,
      `${ACCOUNT}/eu-west-1/ec2-describe-network-interfaces.json`,
      `${ACCOUNT}/eu-west-1/ec2-describe-vpc-endpoints.json`,
      `${ACCOUNT}/iam-get-account-authorization-details.json`,
    ]);
    assert.deepEqual(
      result.files,
      listFiles(out).map((f) => join(out, f)),
    );

    const regionDir = join(out, ACCOUNT, 'eu-west-1');
    const instances = readJson(join(regionDir, 'ec2-describe-instances.json'));
    assert.deepEqual(Object.keys(instances), ['Reservations']);
    const reservations = instances['Reservations'] as { ReservationId: string; Instances: { LaunchTime: unknown }[] }[];
    assert.deepEqual(
      reservations.map((r) => r.ReservationId),
      ['r-1', 'r-2'],
      'both pages of DescribeInstances are merged',
    );
    assert.equal(reservations[0]?.Instances[0]?.LaunchTime, '2024-05-01T10:00:00.000Z');
    const pageCalls = h.calls.filter((c) => c.command === 'DescribeInstancesCommand');
    assert.deepEqual(
      pageCalls.map((c) => c.input['NextToken']),
      [undefined, 'page-2'],
    );

    for (const [file, key] of [
      ['ec2-describe-network-interfaces.json', 'NetworkInterfaces'],
      ['ec2-describe-addresses.json', 'Addresses'],
      ['ec2-describe-nat-gateways.json', 'NatGateways'],
      ['ec2-describe-vpc-endpoints.json', 'VpcEndpoints'],
    ] as const) {
      const json = readJson(join(regionDir, file));
      assert.deepEqual(Object.keys(json), [key], file);
      assert.equal((json[key] as unknown[]).length, 1, file);
    }

    for (const file of result.files) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /\$metadata|NextToken|"Marker"|IsTruncated/, file);
    }
    assert.equal(result.counts['instances'], 3);
    assert.equal(result.counts['reservations'], 2);
    assert.equal(result.counts['roles'], 2);
    assert.equal(result.counts['policies'], 1);
    assert.ok(lines.some((l) => l.startsWith('eu-west-1: 3 instances, 1 network interface')));
  });

  it('merges IAM pages and decodes every policy document to JSON', async () => {
    const h = harness(out);
    await collectInventory(h.options({ regions: ['eu-west-1'] }));
    const details = readJson(join(out, ACCOUNT, 'iam-get-account-authorization-details.json')) as {
      RoleDetailList: {
        RoleName: string;
        CreateDate?: string;
        AssumeRolePolicyDocument: unknown;
        RolePolicyList: { PolicyDocument: unknown }[];
        InstanceProfileList?: { Roles: { AssumeRolePolicyDocument: unknown }[] }[];
      }[];
      UserDetailList: { UserPolicyList: { PolicyDocument: unknown }[] }[];
      GroupDetailList: unknown[];
      Policies: { PolicyVersionList: { Document: unknown }[] }[];
    };
    assert.deepEqual(Object.keys(details), ['UserDetailList', 'GroupDetailList', 'RoleDetailList', 'Policies']);
    assert.deepEqual(
      details.RoleDetailList.map((r) => r.RoleName),
      ['web', 'batch'],
    );
    const [web] = details.RoleDetailList;
    assert.equal(web?.CreateDate, '2022-02-02T00:00:00.000Z');
    assert.deepEqual(web?.AssumeRolePolicyDocument, trustPolicy);
    assert.deepEqual(web?.RolePolicyList[0]?.PolicyDocument, inlinePolicy);
    assert.deepEqual(web?.InstanceProfileList?.[0]?.Roles[0]?.AssumeRolePolicyDocument, trustPolicy);
    assert.deepEqual(details.UserDetailList[0]?.UserPolicyList[0]?.PolicyDocument, inlinePolicy);
    assert.equal(details.GroupDetailList.length, 1);
    assert.deepEqual(details.Policies[0]?.PolicyVersionList[0]?.Document, managedPolicy);
    assert.deepEqual(
      h.calls.filter((c) => c.client === 'IAMClient').map((c) => c.input['Marker']),
      [undefined, 'marker-2'],
    );
  });

  it('warns about a disabled region and a denied call, and still writes the rest', async () => {
    const h = harness(out, {
      ec2: (command, region) =>
        ec2Handler(region, {
          'ap-east-1': {
            DescribeInstancesCommand: awsError(
              'AuthFailure',
              'AWS was not able to validate the provided access credentials',
              401,
            ),
          },
          'us-east-1': {
            DescribeNatGatewaysCommand: awsError(
              'UnauthorizedOperation',
              'You are not authorized to perform this operation.',
              403,
            ),
          },
        })(command, region),
    });
    const result = await collectInventory(h.options({ regions: ['us-east-1', 'ap-east-1', 'eu-west-1'] }));

    assert.deepEqual(result.regions, ['ap-east-1', 'eu-west-1', 'us-east-1']);
    assert.equal(result.warnings.length, 2, result.warnings.join('\n'));
    assert.match(
      result.warnings.join('\n'),
      /ap-east-1 skipped: region ap-east-1 rejected the credentials.*not enabled/,
    );
    assert.match(
      result.warnings.join('\n'),
      /ec2:DescribeNatGateways denied in us-east-1.*— allow ec2:DescribeNatGateways/,
    );
    assert.equal(
      h.calls.filter((c) => c.region === 'ap-east-1').length,
      1,
      'a rejected region is abandoned after its first call',
    );
    const files = listFiles(out);
    assert.ok(!files.some((f) => f.includes('ap-east-1')));
    assert.ok(files.includes(`${ACCOUNT}/us-east-1/ec2-describe-instances.json`));
    assert.ok(!files.includes(`${ACCOUNT}/us-east-1/ec2-describe-nat-gateways.json`));
    assert.ok(files.includes(`${ACCOUNT}/us-east-1/ec2-describe-vpc-endpoints.json`));
    assert.equal(files.filter((f) => f.startsWith(`${ACCOUNT}/eu-west-1/`)).length, 5);
    assert.equal(result.counts['instances'], 6);
    assert.ok(!files.some((f) => f.endsWith('.tmp')));
  });

  it('reports one warning for a region that denies every call (an SCP region deny)', async () => {
    const denied = awsError('UnauthorizedOperation', 'explicit deny in a service control policy', 403);
    const h = harness(out, {
      ec2: (command, region) => {
        if (region === 'sa-east-1') throw denied;
        return ec2Handler(region)(command, region);
      },
    });
    const result = await collectInventory(h.options({ regions: ['eu-west-1', 'sa-east-1'] }));
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /^sa-east-1 skipped: ec2:DescribeInstances denied in sa-east-1/);
  });

  it('fails with an AwsError and a hint when no credentials are found, before writing anything', async () => {
    const missing = awsError('CredentialsProviderError', 'Could not load credentials from any providers', 0);
    const h = harness(out, { sts: () => Promise.reject(missing) });
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1'] })), (error: unknown) => {
      assert.ok(error instanceof AwsError);
      assert.match(error.message, /no AWS credentials found/);
      assert.match(error.hint ?? '', /aws configure/);
      assert.match(error.hint ?? '', /--profile/);
      return true;
    });
    assert.deepEqual(listFiles(out), []);
    assert.deepEqual(h.ec2Regions, []);
    assert.deepEqual(
      h.calls.map((c) => c.command),
      ['GetCallerIdentityCommand'],
    );
  });

  it('names the profile in the hint when --profile has no credentials', async () => {
    const missing = awsError('CredentialsProviderError', 'Could not load credentials from any providers', 0);
    const h = harness(out, { sts: () => Promise.reject(missing) });
    await assert.rejects(
      collectInventory(h.options({ regions: ['eu-west-1'], profile: 'audit' })),
      (error: unknown) => {
        assert.ok(error instanceof AwsError);
        assert.match(error.hint ?? '', /aws configure --profile audit/);
        return true;
      },
    );
  });

  it('stops the run on credentials that expire mid-collection', async () => {
    const h = harness(out, {
      ec2: (command, region) => {
        if (region === 'us-east-1')
          throw awsError('ExpiredToken', 'The security token included in the request is expired', 400);
        return ec2Handler(region)(command, region);
      },
    });
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1', 'us-east-1'] })), (error: unknown) => {
      assert.ok(error instanceof AwsError);
      assert.match(error.message, /expired/);
      assert.match(error.hint ?? '', /aws sso login/);
      return true;
    });
  });

  it('warns that roles will be missing when IAM is denied, and still writes EC2', async () => {
    const h = harness(out, {
      iam: () => {
        throw awsError(
          'AccessDenied',
          `User: arn:aws:iam::${ACCOUNT}:user/ci is not authorized to perform: iam:GetAccountAuthorizationDetails`,
          403,
        );
      },
    });
    const result = await collectInventory(h.options({ regions: ['eu-west-1'] }));
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? '', /iam:GetAccountAuthorizationDetails denied/);
    assert.match(result.warnings[0] ?? '', /lacks roles and their privileges/);
    const files = listFiles(out);
    assert.ok(!files.some((f) => f.startsWith(`${ACCOUNT}/iam-`)));
    assert.equal(files.length, 5);
    assert.equal(result.counts['roles'], 0);
  });

  it('collects every enabled region with --all-regions', async () => {
    const h = harness(out);
    const result = await collectInventory(h.options({ allRegions: true }));
    assert.deepEqual(result.regions, ['eu-west-1', 'us-east-1']);
    const describe = h.calls.filter((c) => c.command === 'DescribeRegionsCommand');
    assert.equal(describe.length, 1);
    assert.equal(describe[0]?.input['AllRegions'], false);
    assert.equal(listFiles(out).filter((f) => f.endsWith('ec2-describe-instances.json')).length, 2);
  });

  it("defaults to the client's configured region", async () => {
    const h = harness(out, { stsRegion: 'eu-central-1' });
    const result = await collectInventory(h.options());
    assert.deepEqual(result.regions, ['eu-central-1']);
    assert.deepEqual([...new Set(h.ec2Regions)], ['eu-central-1']);
  });

  it('asks for a region when none is configured anywhere', async () => {
    const names = [
      'AWS_EC2_METADATA_DISABLED',
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_CONFIG_FILE',
      'AWS_SHARED_CREDENTIALS_FILE',
    ];
    const saved = new Map(names.map((name) => [name, process.env[name]]));
    for (const name of names) delete process.env[name];
    // The SDK's last resort for a region is IMDS (169.254.169.254); the connect guard caught it trying.
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    process.env['AWS_CONFIG_FILE'] = join(out, 'no-config');
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = join(out, 'no-credentials');
    try {
      const h = harness(out, { stsRegion: null });
      await assert.rejects(collectInventory(h.options()), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.hint ?? '', /--regions/);
        return true;
      });
      assert.deepEqual(h.calls, []);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('fails when no region yields any EC2 data', async () => {
    const h = harness(out, {
      ec2: () => {
        throw awsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
      },
    });
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1', 'us-east-1'] })), (error: unknown) => {
      assert.ok(error instanceof AwsError);
      assert.match(error.message, /no EC2 inventory collected in any region/);
      assert.ok(error.hint);
      return true;
    });
  });

  it('rejects bad region options before calling AWS', async () => {
    const h = harness(out);
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1', '../etc'] })), UsageError);
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1'], allRegions: true })), UsageError);
    assert.deepEqual(h.calls, []);
  });

  it('refuses an account id that is not 12 digits (it becomes a folder name)', async () => {
    const h = harness(out, { sts: () => ({ Account: '../../tmp', $metadata: metadata }) });
    await assert.rejects(collectInventory(h.options({ regions: ['eu-west-1'] })), AwsError);
    assert.deepEqual(listFiles(out), []);
  });
});

describe('decodePolicyDocuments', () => {
  it('decodes URL-encoded JSON and leaves what it cannot decode as a string', () => {
    const value = {
      RoleDetailList: [{ AssumeRolePolicyDocument: '%7B%22Version%22%3A%222012-10-17%22%7D', Other: '%7B%7D' }],
      Policies: [{ PolicyVersionList: [{ Document: '%E0%A4%A' }, { Document: 'not%20json' }] }],
    };
    assert.equal(decodePolicyDocuments(value), 2);
    assert.deepEqual(value.RoleDetailList[0], { AssumeRolePolicyDocument: { Version: '2012-10-17' }, Other: '%7B%7D' });
    assert.deepEqual(value.Policies[0]?.PolicyVersionList, [{ Document: '%E0%A4%A' }, { Document: 'not%20json' }]);
  });
});

describe('parseRegionList', () => {
  it('splits, trims and de-duplicates', () => {
    assert.deepEqual(parseRegionList(' eu-west-1, us-gov-west-1,eu-west-1,,cn-north-1 '), [
      'eu-west-1',
      'us-gov-west-1',
      'cn-north-1',
    ]);
  });
  it('rejects names that are not regions', () => {
    assert.throws(() => parseRegionList('eu-west-1,EU_WEST'), UsageError);
    assert.throws(() => parseRegionList(' , '), UsageError);
  });
});
