import type { Command } from 'commander';
import type { CollectInventoryResult } from '../inventory/collect.js';
import { statusUntrusted } from './io.js';

export interface InventoryCollectCliOptions {
  out: string;
  profile?: string;
  regions?: string;
  allRegions?: boolean;
  endpointUrl?: string;
}

function summarise(result: CollectInventoryResult, out: string): string {
  const c = result.counts;
  const n = (kind: string): number => c[kind] ?? 0;
  const regions = result.regions.length === 1 ? '1 region' : `${result.regions.length} regions`;
  const warnings = result.warnings.length > 0 ? `; ${result.warnings.length} warnings (listed above)` : '';
  return (
    `collected account ${result.accountId}, ${regions}: ${n('instances')} instances, ${n('networkInterfaces')} network interfaces, ` +
    `${n('addresses')} Elastic IPs, ${n('natGateways')} NAT gateways, ${n('vpcEndpoints')} VPC endpoints, ` +
    `${n('roles')} roles, ${n('users')} users, ${n('groups')} groups, ${n('policies')} managed policies — ` +
    `${result.files.length} files in ${out} (read them with offbox scan --inventory ${out})${warnings}`
  );
}

export async function runInventoryCollect(options: InventoryCollectCliOptions): Promise<void> {
  // Loaded on use: the IAM, EC2 and STS clients take half a second to load.
  const { collectInventory, parseRegionList } = await import('../inventory/collect.js');
  const result = await collectInventory({
    out: options.out,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.regions !== undefined ? { regions: parseRegionList(options.regions) } : {}),
    ...(options.allRegions === true ? { allRegions: true } : {}),
    ...(options.endpointUrl !== undefined ? { endpointUrl: options.endpointUrl } : {}),
    // AWS error messages and resource names are not ours to trust on a terminal.
    onStatus: statusUntrusted,
  });
  statusUntrusted(summarise(result, options.out));
}

export function registerInventory(program: Command): void {
  const inventory = program
    .command('inventory')
    .description(
      'the AWS inventory (addresses, NAT gateways, VPC endpoints, roles) scan --inventory judges sources against',
    );
  inventory
    .command('collect')
    .description(
      'save EC2 and IAM inventory as AWS CLI JSON (DIR/ACCOUNT/REGION/ec2-describe-….json, DIR/ACCOUNT/iam-….json) for scan --inventory',
    )
    .requiredOption('--out <dir>', 'folder to write to (files are replaced atomically)')
    .option('--profile <name>', 'AWS profile (standard credential chain otherwise)')
    .option('--regions <list>', 'comma-separated regions (default: the profile or environment region)')
    .option('--all-regions', 'every region enabled for the account')
    .option('--endpoint-url <url>', 'endpoint for STS, IAM and EC2 (LocalStack, moto)')
    .action(async (options: InventoryCollectCliOptions) => {
      await runInventoryCollect(options);
    });
}
