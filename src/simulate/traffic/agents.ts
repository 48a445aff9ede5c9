/** User agents as they appear in CloudTrail (SDKs, CLI, agents, consoles) and in web logs. */

/** Memoises a user-agent builder: the same string object every time keeps the serialiser's caches hot. */
function memo(build: (arg: string) => string): (arg: string) => string {
  const cache = new Map<string, string>();
  return (arg) => {
    let hit = cache.get(arg);
    if (hit === undefined) {
      hit = build(arg);
      cache.set(arg, hit);
    }
    return hit;
  };
}

const KERNEL_AL2023 = '6.1.79-99.164.amzn2023.x86_64';
const KERNEL_AL2 = '5.10.210-201.852.amzn2.x86_64';

export const UA = {
  cli: memo(
    (command: string) =>
      `aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#${KERNEL_AL2023} md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off md/command#${command}`,
  ),
  cliV1: `aws-cli/1.18.147 Python/2.7.18 Linux/${KERNEL_AL2} botocore/1.18.6`,
  boto3: `Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#${KERNEL_AL2023} md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51`,
  boto3Ecs: `Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#legacy Botocore/1.34.51`,
  jsV3: memo(
    (api: string) => `aws-sdk-js/3.529.1 ua/2.1 os/linux#${KERNEL_AL2023} lang/js md/nodejs#20.11.1 api/${api}#3.529.1`,
  ),
  jsLambda: memo(
    (api: string) =>
      `aws-sdk-js/3.529.1 ua/2.1 os/linux#5.10.209-220.812.amzn2.x86_64 lang/js md/nodejs#20.11.1 exec-env/AWS_Lambda_nodejs20.x api/${api}#3.529.1`,
  ),
  goV2: memo(
    (api: string) => `aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/${api}#1.30.2`,
  ),
  java: `aws-sdk-java/2.25.6 Linux/${KERNEL_AL2023} OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy`,
  javaIrsa: `aws-sdk-java/2.25.6 Linux/${KERNEL_AL2} OpenJDK_64-Bit_Server_VM/21.0.2+13-LTS Java/21.0.2 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy`,
  // The agent's SDK clients (UpdateInstanceInformation, ec2messages, RequestManagedInstanceRoleToken) append
  // amazon-ssm-agent/VERSION to aws-sdk-go's agent (amazon-ssm-agent agent/runcommand/mds/service.go, agent/ssm/service.go).
  ssmAgent: 'aws-sdk-go/1.44.327 (go1.20.12; linux; amd64) amazon-ssm-agent/3.2.2303.0',
  // The Session Manager channels are signed with a bare net/http client (amazon-ssm-agent agent/session/service/service.go),
  // and a real CreateControlChannel record shows Go's default agent (elastic/integrations test-create-control-channel-json.log).
  goHttp: 'Go-http-client/1.1',
  // What Lambda signs the cold-start kms:Decrypt of a function's environment variables with (a 2024 trail in
  // "Query AWS CloudTrail Logs - CLI", with encryptionContext aws:lambda:FunctionArn).
  lambdaEnvDecrypt:
    'aws-internal/3 aws-sdk-java/1.12.676 Linux/4.14.336-257.562.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+9-LTS java/17.0.10 kotlin/1.6.21 vendor/Amazon.com_Inc. cfg/retry-mode/standard',
  cwAgent: 'aws-sdk-go/1.48.6 (go1.21.5; linux; amd64) CWAgent/1.300033.0',
  terraform: memo(
    (api: string) =>
      `APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.39.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/${api}#1.28.1`,
  ),
  s3Console:
    '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.660 Linux/5.10.210-178.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard]',
  ssoSignin:
    'aws-internal/3 aws-sdk-java/1.12.660 Linux/5.10.210-178.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard',
  awsInternal: 'AWS Internal',
} as const;

/** Browsers and bots that visit the web tier. */
export const WEB_CLIENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'okhttp/4.12.0',
] as const;
