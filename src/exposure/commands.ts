import { shellQuote } from '../respond/commands.js';

const LAUNCH_TEMPLATE_ID = /^lt-[0-9a-f]{8,17}$/i;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** A region that is safe and meaningful on a command line, or ''. */
export function validRegion(region: string): string {
  return REGION.test(region) ? region : '';
}

/** A launch template id as EC2 writes it in the `aws:ec2launchtemplate:id` tag, or ''. */
export function validLaunchTemplateId(id: string): string {
  return LAUNCH_TEMPLATE_ID.test(id) ? id : '';
}

export interface MigrationTarget {
  instanceId: string;
  region: string;
  hopLimit: 1 | 2;
  /** Why the hop limit is 2 ('' when it is 1). */
  hopReason: string;
  launchTemplateId: string;
  autoScalingGroup: string;
  /** IMDSv1 is already closed on the instance: verify instead of modify. */
  alreadyRequired: boolean;
}

function regionArg(region: string): string {
  const valid = validRegion(region);
  return valid ? ` --region ${shellQuote(valid)}` : '';
}

/**
 * The commands that close IMDSv1 for one instance and keep it closed: the instance itself, its
 * launch template (a new version) and its Auto Scaling group (point at the new version, refresh).
 * Every value from logs or inventory is shell-quoted; `#` lines explain and are safe to paste.
 */
export function migrationCommands(target: MigrationTarget): string[] {
  const region = regionArg(target.region);
  const id = shellQuote(target.instanceId);
  const commands: string[] = [];
  if (!validRegion(target.region)) commands.push('# region unknown: add --region REGION to the commands below');
  if (target.alreadyRequired) {
    commands.push(
      `aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[].Instances[].MetadataOptions'${region}`,
    );
  } else {
    if (target.hopLimit === 2 && target.hopReason) commands.push(`# hop limit 2: ${oneLine(target.hopReason)}`);
    commands.push(
      `aws ec2 modify-instance-metadata-options --instance-id ${id} --http-tokens required ` +
        `--http-put-response-hop-limit ${target.hopLimit} --http-endpoint enabled${region}`,
    );
  }
  const template = validLaunchTemplateId(target.launchTemplateId);
  if (template) {
    const data = JSON.stringify({
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: target.hopLimit },
    });
    commands.push(
      `aws ec2 create-launch-template-version --launch-template-id ${shellQuote(template)} ` +
        `--source-version ${shellQuote('$Latest')} --launch-template-data ${shellQuote(data)}${region}`,
    );
  }
  if (target.autoScalingGroup) {
    const group = shellQuote(target.autoScalingGroup);
    if (template) {
      commands.push(
        `aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${group} ` +
          `--launch-template ${shellQuote(`LaunchTemplateId=${template},Version=$Latest`)}${region}`,
      );
    } else {
      commands.push(
        '# the group launches replacements from its own template or configuration: require IMDSv2 there too',
        `aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${group} ` +
          `--query 'AutoScalingGroups[].[LaunchTemplate,MixedInstancesPolicy.LaunchTemplate,LaunchConfigurationName]'${region}`,
      );
    }
    commands.push(`aws autoscaling start-instance-refresh --auto-scaling-group-name ${group}${region}`);
  }
  return commands;
}

/** The account-wide default for new instances in a region (instances launched after it require IMDSv2). */
export function accountDefaultsCommand(region: string, hopLimit: 1 | 2 = 1): string {
  return (
    `aws ec2 modify-instance-metadata-defaults --http-tokens required ` +
    `--http-put-response-hop-limit ${hopLimit}${regionArg(region)}`
  );
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ');
}
