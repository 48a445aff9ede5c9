/**
 * The inventory as the AWS CLI prints it at the end of the window: describe-instances,
 * -network-interfaces, -addresses, -nat-gateways, -vpc-endpoints per region and
 * get-account-authorization-details per account. Instances terminated more than an hour
 * before the end are gone (as in AWS); the last hour's terminations show as terminated.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedPolicy, PolicyDocument, Role } from './iam.js';
import type { Account, Instance, Organisation, RegionEstate } from './organisation.js';
import { Rng } from './prng.js';
import { HOUR, isoCli } from './time.js';

type Json = Record<string, unknown>;

function dns(ip: string, region: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

function publicDns(ip: string, region: string): string {
  const host = `ec2-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.compute-1.amazonaws.com` : `${host}.${region}.compute.amazonaws.com`;
}

class InventoryBuilder {
  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {}

  private sg(estate: RegionEstate, name: string): Json {
    return { GroupName: name, GroupId: `sg-0${this.rng.fork(`sg:${estate.vpc.id}:${name}`).hex(16)}` };
  }

  private instanceAssociation(inst: Instance): Json | undefined {
    const end = this.org.end;
    if (inst.eip && end >= inst.eip.at) {
      return {
        IpOwnerId: inst.account.id,
        PublicDnsName: publicDns(inst.eip.publicIp, inst.estate.region),
        PublicIp: inst.eip.publicIp,
      };
    }
    if (inst.publicIp)
      return {
        IpOwnerId: 'amazon',
        PublicDnsName: publicDns(inst.publicIp, inst.estate.region),
        PublicIp: inst.publicIp,
      };
    return undefined;
  }

  private instanceEni(inst: Instance): Json {
    const region = inst.estate.region;
    const association = this.instanceAssociation(inst);
    const attachTime = isoCli(inst.launch);
    return {
      ...(association ? { Association: association } : {}),
      Attachment: {
        AttachTime: attachTime,
        AttachmentId: `eni-attach-0${this.rng.fork(`attach:${inst.id}`).hex(16)}`,
        DeleteOnTermination: true,
        DeviceIndex: 0,
        Status: 'attached',
        NetworkCardIndex: 0,
      },
      Description: '',
      Groups: [this.sg(inst.estate, `${inst.purpose}-sg`)],
      Ipv6Addresses: inst.ipv6 ? [{ Ipv6Address: inst.ipv6, IsPrimaryIpv6: false }] : [],
      MacAddress: inst.macAddress,
      NetworkInterfaceId: inst.eniId,
      OwnerId: inst.account.id,
      PrivateDnsName: dns(inst.privateIp, region),
      PrivateIpAddress: inst.privateIp,
      PrivateIpAddresses: [
        {
          ...(association ? { Association: association } : {}),
          Primary: true,
          PrivateDnsName: dns(inst.privateIp, region),
          PrivateIpAddress: inst.privateIp,
        },
      ],
      SourceDestCheck: true,
      Status: 'in-use',
      SubnetId: inst.subnet.id,
      VpcId: inst.estate.vpc.id,
      InterfaceType: 'interface',
    };
  }

  private instance(inst: Instance): Json {
    const { org } = this;
    const region = inst.estate.region;
    const terminated = inst.terminate !== undefined && inst.terminate <= org.end;
    const httpTokens = inst.imdsChange && inst.imdsChange.at <= org.end ? inst.imdsChange.httpTokens : inst.httpTokens;
    const hopLimit = inst.imdsChange && inst.imdsChange.at <= org.end ? inst.imdsChange.hopLimit : inst.hopLimit;
    const association = this.instanceAssociation(inst);
    const tags = [{ Key: 'Name', Value: inst.name }];
    if (inst.asg) tags.push({ Key: 'aws:autoscaling:groupName', Value: inst.asg });
    if (inst.purpose === 'eks-node' && inst.estate.eks) {
      tags.push(
        { Key: `kubernetes.io/cluster/${inst.estate.eks.name}`, Value: 'owned' },
        { Key: 'eks:nodegroup-name', Value: 'default' },
      );
    }
    tags.push({ Key: 'team', Value: inst.account.kind === 'tooling' ? 'security' : 'platform' });
    const base: Json = {
      AmiLaunchIndex: 0,
      ImageId: inst.ami,
      InstanceId: inst.id,
      InstanceType: inst.type,
      LaunchTime: isoCli(inst.launch),
      Monitoring: { State: 'disabled' },
      Placement: { AvailabilityZone: inst.subnet.az, GroupName: '', Tenancy: 'default' },
      PrivateDnsName: terminated ? '' : dns(inst.privateIp, region),
      ...(terminated ? {} : { PrivateIpAddress: inst.privateIp }),
      ProductCodes: [],
      PublicDnsName: !terminated && association ? association['PublicDnsName'] : '',
      ...(!terminated && association ? { PublicIpAddress: association['PublicIp'] } : {}),
      State: terminated ? { Code: 48, Name: 'terminated' } : { Code: 16, Name: 'running' },
      StateTransitionReason: terminated
        ? `User initiated (${isoCli(inst.terminate!).replace('T', ' ').replace('+00:00', ' GMT')})`
        : '',
      ...(terminated ? {} : { SubnetId: inst.subnet.id, VpcId: inst.estate.vpc.id }),
      Architecture: inst.type.includes('g.') ? 'arm64' : 'x86_64',
      BlockDeviceMappings: terminated
        ? []
        : [
            {
              DeviceName: '/dev/xvda',
              Ebs: {
                AttachTime: isoCli(inst.launch + 1000),
                DeleteOnTermination: true,
                Status: 'attached',
                VolumeId: inst.rootVolumeId,
              },
            },
          ],
      ClientToken: this.rng.fork(`token:${inst.id}`).uuid(),
      EbsOptimized: false,
      EnaSupport: true,
      Hypervisor: 'xen',
      IamInstanceProfile: { Arn: inst.role.instanceProfile!.arn, Id: inst.role.instanceProfile!.id },
      NetworkInterfaces: terminated ? [] : [this.instanceEni(inst)],
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      SecurityGroups: terminated ? [] : [this.sg(inst.estate, `${inst.purpose}-sg`)],
      SourceDestCheck: true,
      Tags: tags,
      VirtualizationType: 'hvm',
      CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 },
      CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
      HibernationOptions: { Configured: false },
      MetadataOptions: {
        State: 'applied',
        HttpTokens: httpTokens,
        HttpPutResponseHopLimit: hopLimit,
        HttpEndpoint: 'enabled',
        HttpProtocolIpv6: inst.ipv6 ? 'enabled' : 'disabled',
        InstanceMetadataTags: 'disabled',
      },
      EnclaveOptions: { Enabled: false },
      BootMode: 'uefi-preferred',
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      UsageOperationUpdateTime: isoCli(inst.launch),
      PrivateDnsNameOptions: {
        HostnameType: 'ip-name',
        EnableResourceNameDnsARecord: false,
        EnableResourceNameDnsAAAARecord: false,
      },
      MaintenanceOptions: { AutoRecovery: 'default' },
      CurrentInstanceBootMode: 'uefi',
    };
    return base;
  }

  describeInstances(estate: RegionEstate): Json {
    const end = this.org.end;
    const visible = estate.instances.filter(
      (i) => i.launch <= end && (i.terminate === undefined || i.terminate > end - HOUR),
    );
    return {
      Reservations: visible.map((inst) => ({
        Groups: [],
        Instances: [this.instance(inst)],
        OwnerId: inst.account.id,
        ...(inst.asg ? { RequesterId: '940372691376' } : {}),
        ReservationId: inst.reservationId,
      })),
    };
  }

  describeNetworkInterfaces(estate: RegionEstate): Json {
    const { org } = this;
    const end = org.end;
    const region = estate.region;
    const account = estate.account;
    const enis: Json[] = [];
    for (const inst of estate.instances) {
      if (inst.launch > end || (inst.terminate !== undefined && inst.terminate <= end)) continue;
      // describe-network-interfaces names the instance in the attachment; describe-instances does not.
      const eni = this.instanceEni(inst);
      enis.push({
        ...eni,
        Attachment: { ...(eni['Attachment'] as Json), InstanceId: inst.id, InstanceOwnerId: account.id },
        AvailabilityZone: inst.subnet.az,
        RequesterManaged: false,
        TagSet: [],
      });
    }
    const managed = (
      id: string,
      subnetId: string,
      ip: string,
      type: string,
      description: string,
      requester: string,
      extra: Json = {},
    ): Json => ({
      AvailabilityZone: estate.vpc.subnets.find((s) => s.id === subnetId)!.az,
      Description: description,
      Groups: type === 'nat_gateway' ? [] : [this.sg(estate, 'default')],
      InterfaceType: type,
      Ipv6Addresses: [],
      MacAddress: `0e:${this.rng.fork(`mac:${id}`).hex(10).match(/../g)!.join(':')}`,
      NetworkInterfaceId: id,
      OwnerId: account.id,
      PrivateDnsName: dns(ip, region),
      PrivateIpAddress: ip,
      RequesterId: requester,
      RequesterManaged: true,
      SourceDestCheck: type !== 'nat_gateway',
      Status: 'in-use',
      SubnetId: subnetId,
      TagSet: [],
      VpcId: estate.vpc.id,
      ...extra,
    });
    for (const nat of estate.nats) {
      const live = nat.addresses.filter((a) => a.associatedAt <= end);
      const assoc = (a: (typeof live)[number]) => ({
        AllocationId: a.allocationId,
        AssociationId: a.associationId,
        IpOwnerId: account.id,
        PublicDnsName: publicDns(a.publicIp, region),
        PublicIp: a.publicIp,
      });
      enis.push(
        managed(
          nat.eniId,
          nat.subnet.id,
          live[0]!.privateIp,
          'nat_gateway',
          `Interface for NAT Gateway ${nat.id}`,
          '441286205497',
          {
            Association: assoc(live[0]!),
            PrivateIpAddresses: live.map((a, i) => ({
              Association: assoc(a),
              Primary: i === 0,
              PrivateDnsName: dns(a.privateIp, region),
              PrivateIpAddress: a.privateIp,
            })),
          },
        ),
      );
    }
    for (const ep of estate.endpoints) {
      for (const eni of ep.enis) {
        enis.push(
          managed(eni.id, eni.subnet.id, eni.ip, 'vpc_endpoint', `VPC Endpoint Interface ${ep.id}`, '727180483921'),
        );
      }
    }
    if (estate.alb) {
      for (const node of estate.alb.nodes) {
        enis.push(
          managed(
            node.eniId,
            node.subnet.id,
            node.privateIp,
            'interface',
            `ELB app/${estate.alb.name}/${estate.alb.id}`,
            'amazon-elb',
            {
              Association: {
                IpOwnerId: 'amazon',
                PublicDnsName: publicDns(node.publicIp, region),
                PublicIp: node.publicIp,
              },
            },
          ),
        );
      }
    }
    for (const task of estate.ecs?.tasks ?? []) {
      if (task.start <= end && task.stop > end) {
        enis.push(
          managed(
            task.eniId,
            task.subnet.id,
            task.privateIp,
            'interface',
            `arn:aws:ecs:${region}:${account.id}:attachment/${task.attachmentId}`,
            '578734482556',
          ),
        );
      }
    }
    return { NetworkInterfaces: enis };
  }

  describeAddresses(estate: RegionEstate): Json {
    const end = this.org.end;
    const region = estate.region;
    const account = estate.account;
    const addresses: Json[] = [];
    for (const nat of estate.nats) {
      for (const a of nat.addresses) {
        if (a.associatedAt > end) continue;
        addresses.push({
          AllocationId: a.allocationId,
          AssociationId: a.associationId,
          Domain: 'vpc',
          NetworkInterfaceId: nat.eniId,
          NetworkInterfaceOwnerId: account.id,
          PrivateIpAddress: a.privateIp,
          PublicIp: a.publicIp,
          PublicIpv4Pool: 'amazon',
          NetworkBorderGroup: region,
          Tags: [{ Key: 'Name', Value: `${nat.id}-eip` }],
        });
      }
    }
    for (const inst of estate.instances) {
      if (!inst.eip || inst.eip.allocatedAt > end) continue;
      const live = inst.eip.at <= end && (inst.terminate === undefined || inst.terminate > end);
      addresses.push({
        AllocationId: inst.eip.allocationId,
        ...(live
          ? {
              AssociationId: inst.eip.associationId,
              InstanceId: inst.id,
              NetworkInterfaceId: inst.eniId,
              NetworkInterfaceOwnerId: account.id,
              PrivateIpAddress: inst.privateIp,
            }
          : {}),
        Domain: 'vpc',
        PublicIp: inst.eip.publicIp,
        PublicIpv4Pool: 'amazon',
        NetworkBorderGroup: region,
      });
    }
    return { Addresses: addresses };
  }

  describeNatGateways(estate: RegionEstate): Json {
    const end = this.org.end;
    return {
      NatGateways: estate.nats.map((nat) => ({
        CreateTime: isoCli(nat.createTime),
        NatGatewayAddresses: nat.addresses
          .filter((a) => a.associatedAt <= end)
          .map((a) => ({
            AllocationId: a.allocationId,
            NetworkInterfaceId: nat.eniId,
            PrivateIp: a.privateIp,
            PublicIp: a.publicIp,
            AssociationId: a.associationId,
            IsPrimary: a.isPrimary,
            Status: 'succeeded',
          })),
        NatGatewayId: nat.id,
        State: 'available',
        SubnetId: nat.subnet.id,
        VpcId: estate.vpc.id,
        Tags: [{ Key: 'Name', Value: `${estate.account.name}-${nat.subnet.az}-nat` }],
        ConnectivityType: 'public',
      })),
    };
  }

  describeVpcEndpoints(estate: RegionEstate): Json {
    const policy = JSON.stringify({
      Version: '2008-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }],
    });
    return {
      VpcEndpoints: estate.endpoints.map((ep) => ({
        VpcEndpointId: ep.id,
        VpcEndpointType: ep.type,
        VpcId: estate.vpc.id,
        ServiceName: `com.amazonaws.${estate.region}.${ep.service}`,
        State: 'available',
        PolicyDocument: policy,
        RouteTableIds: ep.routeTableIds,
        SubnetIds: ep.enis.map((e) => e.subnet.id),
        Groups: ep.type === 'Interface' ? [this.sg(estate, 'vpce-sg')] : [],
        IpAddressType: 'ipv4',
        ...(ep.type === 'Interface' ? { DnsOptions: { DnsRecordIpType: 'ipv4' } } : {}),
        PrivateDnsEnabled: ep.type === 'Interface',
        RequesterManaged: false,
        NetworkInterfaceIds: ep.enis.map((e) => e.id),
        DnsEntries:
          ep.type === 'Interface'
            ? [
                {
                  DnsName: `${ep.id}-${this.rng.fork(`dns:${ep.id}`).lowerAlnum(8)}.${ep.service}.${estate.region}.vpce.amazonaws.com`,
                  HostedZoneId: 'Z7HUB22UULQXV',
                },
              ]
            : [],
        CreationTimestamp: isoCli(ep.createTime),
        Tags: [],
        OwnerId: estate.account.id,
      })),
    };
  }

  authorizationDetails(account: Account): Json {
    const roles = [...account.iam.roles.values()];
    const attachments = new Map<string, number>();
    for (const holder of [...roles, ...account.iam.users.values()]) {
      for (const policy of holder.managed) attachments.set(policy.arn, (attachments.get(policy.arn) ?? 0) + 1);
    }
    const trustOf = (role: Role): PolicyDocument => role.trust;
    const roleRef = (role: Role): Json => ({
      Path: role.path,
      RoleName: role.name,
      RoleId: role.id,
      Arn: role.arn,
      CreateDate: isoCli(role.createDate),
      AssumeRolePolicyDocument: trustOf(role),
    });
    const attached = (list: ManagedPolicy[]) => list.map((p) => ({ PolicyName: p.name, PolicyArn: p.arn }));
    return {
      UserDetailList: [...account.iam.users.values()].map((user) => ({
        Path: '/',
        UserName: user.name,
        UserId: user.id,
        Arn: user.arn,
        CreateDate: isoCli(user.createDate),
        UserPolicyList: user.inline.map((p) => ({ PolicyName: p.name, PolicyDocument: p.document })),
        GroupList: [],
        AttachedManagedPolicies: attached(user.managed),
        Tags: [],
      })),
      GroupDetailList: [],
      RoleDetailList: roles.map((role) => ({
        ...roleRef(role),
        InstanceProfileList: role.instanceProfile
          ? [
              {
                Path: '/',
                InstanceProfileName: role.instanceProfile.name,
                InstanceProfileId: role.instanceProfile.id,
                Arn: role.instanceProfile.arn,
                CreateDate: isoCli(role.instanceProfile.createDate),
                Roles: [roleRef(role)],
              },
            ]
          : [],
        RolePolicyList: role.inline.map((p) => ({ PolicyName: p.name, PolicyDocument: p.document })),
        AttachedManagedPolicies: attached(role.managed),
        ...(role.permissionsBoundary
          ? {
              PermissionsBoundary: {
                PermissionsBoundaryType: 'Policy',
                PermissionsBoundaryArn: role.permissionsBoundary,
              },
            }
          : {}),
        Tags: [],
        RoleLastUsed: {},
        ...(role.description ? { Description: role.description } : {}),
        MaxSessionDuration: role.maxSessionDuration,
      })),
      Policies: [...account.iam.policies.values()].map((policy) => ({
        PolicyName: policy.name,
        PolicyId: policy.id,
        Arn: policy.arn,
        Path: policy.path,
        DefaultVersionId: 'v1',
        AttachmentCount: attachments.get(policy.arn) ?? 0,
        PermissionsBoundaryUsageCount: roles.filter((r) => r.permissionsBoundary === policy.arn).length,
        IsAttachable: true,
        CreateDate: isoCli(policy.createDate),
        UpdateDate: isoCli(policy.createDate),
        PolicyVersionList: [
          { Document: policy.document, VersionId: 'v1', IsDefaultVersion: true, CreateDate: isoCli(policy.createDate) },
        ],
      })),
    };
  }
}

/** Writes inventory/ACCT/… for every account; returns the number of files. */
export async function writeInventory(root: string, org: Organisation, seed: string): Promise<number> {
  const builder = new InventoryBuilder(org, new Rng(`${seed}/inventory`));
  let files = 0;
  const write = async (path: string, value: unknown) => {
    await writeFile(path, `${JSON.stringify(value, null, 4)}\n`);
    files++;
  };
  for (const account of org.accounts) {
    const dir = join(root, account.id);
    await mkdir(dir, { recursive: true });
    for (const estate of account.regions) {
      const r = estate.region;
      await write(join(dir, `ec2-describe-instances.${r}.json`), builder.describeInstances(estate));
      await write(join(dir, `ec2-describe-network-interfaces.${r}.json`), builder.describeNetworkInterfaces(estate));
      await write(join(dir, `ec2-describe-addresses.${r}.json`), builder.describeAddresses(estate));
      await write(join(dir, `ec2-describe-nat-gateways.${r}.json`), builder.describeNatGateways(estate));
      await write(join(dir, `ec2-describe-vpc-endpoints.${r}.json`), builder.describeVpcEndpoints(estate));
    }
    await write(join(dir, 'iam-get-account-authorization-details.json'), builder.authorizationDetails(account));
  }
  return files;
}
