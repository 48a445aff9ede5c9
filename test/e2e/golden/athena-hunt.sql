-- offbox usages: one row per credential, source and client (the usages offbox scan builds)
WITH events AS (
    SELECT
      coalesce(eventid, '') AS event_id,
      coalesce(eventtime, '') AS event_time,
      CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) AS ms,
      coalesce(eventversion, '') AS event_version,
      coalesce(eventsource, '') AS event_source,
      coalesce(eventname, '') AS event_name,
      coalesce(eventtype, '') AS event_type,
      coalesce(awsregion, '') AS aws_region,
      coalesce(sourceipaddress, '') AS source_ip,
      coalesce(useragent, '') AS user_agent,
      coalesce(errorcode, '') AS error_code,
      coalesce(errormessage, '') AS error_message,
      coalesce(nullif(recipientaccountid, ''), useridentity.accountid, '') AS account_id,
      coalesce(vpcendpointid, '') AS vpce,
      coalesce(vpcendpointaccountid, '') AS vpce_account,
      coalesce(useridentity.type, '') AS ui_type,
      coalesce(useridentity.principalid, '') AS ui_principal,
      coalesce(useridentity.arn, '') AS ui_arn,
      coalesce(useridentity.accountid, '') AS ui_account,
      coalesce(useridentity.accesskeyid, '') AS ui_key,
      coalesce(useridentity.username, '') AS ui_user,
      coalesce(useridentity.invokedby, '') AS ui_invoked_by,
      useridentity.sessioncontext.sessionissuer IS NOT NULL AS is_present,
      coalesce(useridentity.sessioncontext.sessionissuer.type, '') AS is_type,
      coalesce(useridentity.sessioncontext.sessionissuer.principalid, '') AS is_principal,
      coalesce(useridentity.sessioncontext.sessionissuer.arn, '') AS is_arn,
      coalesce(useridentity.sessioncontext.sessionissuer.accountid, '') AS is_account,
      coalesce(useridentity.sessioncontext.sessionissuer.username, '') AS is_user,
      coalesce(useridentity.sessioncontext.attributes.creationdate, '') AS creation_date,
      coalesce(useridentity.sessioncontext.ec2roledelivery, '') AS ec2_role_delivery,
      coalesce(useridentity.sessioncontext.sourceidentity, '') AS source_identity,
      coalesce(useridentity.sessioncontext.webidfederationdata.federatedprovider, '') AS web_provider,
      coalesce(useridentity.inscopeof.issuertype, '') AS scope_type,
      coalesce(useridentity.inscopeof.credentialsissuedto, '') AS scope_issued_to,
      requestparameters AS request_json,
      responseelements AS response_json
    FROM "security"."cloudtrail_logs"
    WHERE (coalesce(eventname, '') <> '' OR coalesce(eventsource, '') <> '')
      AND account IN ('111122223333', '444455556666') AND "timestamp" >= '2026/03/01' AND CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) >= 1772323200000
  ),
  used AS (
    SELECT
      account_id AS k_account,
      coalesce(nullif(lower(ui_arn), ''), ui_principal) AS k_principal,
      ui_key AS k_key,
      source_ip AS k_ip,
      vpce AS k_vpce,
      vpce_account AS k_vpce_account,
      ui_invoked_by AS k_invoked_by,
      (CASE WHEN regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', '') = '' THEN '' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)aws-sdk-|aws-cli/|Boto3/|botocore/|amazon-ssm-agent|aws-internal|AWS Internal|\.amazonaws\.com|exec-env/|Terraform/|terraform-provider-aws|aws-toolkit|AWSPowerShell|AWS-Lambda|S3Console|CloudShell|AmazonSSMAgent|aws-chalice|aws-ec2-') THEN '' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^python-requests/') THEN 'python-requests' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^(?:python-urllib|Python-urllib|urllib3)\b') THEN 'python-urllib' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^python-httpx/') THEN 'python-httpx' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^aiohttp\b|\baiohttp/') THEN 'aiohttp' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^Go-http-client/') THEN 'go-http-client' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^curl/') THEN 'curl' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^Wget/') THEN 'wget' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '^Mozilla/\d') THEN 'browser' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^okhttp/') THEN 'okhttp' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^axios/') THEN 'axios' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^node-fetch\b|^undici\b') THEN 'node-fetch' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^PostmanRuntime/') THEN 'postman' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^Java/\d|^Apache-HttpClient/') THEN 'java-http' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^libwww-perl/') THEN 'perl' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^(?:PHP|GuzzleHttp)/') THEN 'php' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)^Ruby\b|^Faraday\b') THEN 'ruby' WHEN regexp_like(regexp_replace(regexp_replace(user_agent, '^\[', ''), '^\s+|\s+$', ''), '(?i)WindowsPowerShell/') THEN 'powershell' ELSE '' END) AS k_family,
      (CASE WHEN strpos(event_source, '.') > 1 THEN substr(event_source, 1, strpos(event_source, '.') - 1) ELSE event_source END) || ':' || event_name AS action,
      error_code <> '' AS errored,
      (error_code <> '' AND regexp_like(error_code, '(?i)AccessDenied|UnauthorizedOperation|Unauthorized|Forbidden')) AS denied,
      *
    FROM events
    WHERE ui_type <> '' AND ui_type <> 'AWSService'
  ),
  distinct_ids AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, event_id, min(coalesce(ms, 9223372036854775807)) AS t, count(*) AS copies,
      min(action) AS action, bool_or(errored) AS errored, bool_or(denied) AS denied
    FROM used WHERE event_id <> ''
    GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, event_id
  ),
  ranked_ids AS (
    SELECT *, row_number() OVER (PARTITION BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family ORDER BY t, event_id) AS rank FROM distinct_ids
  ),
  counted AS (
    -- What each distinct event adds: one call while kept (repeats are recognised), every copy otherwise.
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, event_id, t, action, errored, denied, rank,
      CASE WHEN rank <= 1000 THEN 1 ELSE copies END AS n
    FROM ranked_ids
    UNION ALL
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, event_id, coalesce(ms, 9223372036854775807) AS t, action, errored, denied, 0 AS rank, 1 AS n FROM used WHERE event_id = ''
  ),
  action_counts AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, json_format(CAST(map_agg(action, total) AS JSON)) AS actions
    FROM (SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, action, sum(n) AS total FROM counted GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, action) AS per_action
    GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family
  ),
  call_counts AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family,
      sum(n) AS calls,
      sum(CASE WHEN errored THEN n ELSE 0 END) AS error_count,
      sum(CASE WHEN denied THEN n ELSE 0 END) AS denied_calls,
      json_format(CAST(coalesce(array_agg(event_id ORDER BY t, event_id) FILTER (WHERE rank BETWEEN 1 AND 1000), ARRAY[]) AS JSON)) AS event_ids,
      count(CASE WHEN rank > 0 THEN 1 END) > 1000 AS event_ids_truncated
    FROM counted
    GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family
  ),
  agent_firsts AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, user_agent, min(coalesce(ms, 9223372036854775807)) AS t FROM used GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, user_agent
  ),
  agents AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family, json_format(CAST(coalesce(array_agg(user_agent ORDER BY t, user_agent) FILTER (WHERE rank <= 20), ARRAY[]) AS JSON)) AS user_agents
    FROM (SELECT *, row_number() OVER (PARTITION BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family ORDER BY t, user_agent) AS rank FROM agent_firsts) AS ranked
    GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family
  ),
  summary AS (
    SELECT k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family,
      min_by(event_time, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS first_seen,
      min_by(user_agent, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS first_user_agent,
      min_by(event_id, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS first_event_id,
      max_by(event_time, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) FILTER (WHERE ms IS NOT NULL) AS last_seen,
      min(CASE WHEN denied THEN ms END) AS first_denied_ms,
      max(CASE WHEN denied THEN ms END) AS last_denied_ms,
      json_format(CAST(coalesce(array_agg(aws_region ORDER BY aws_region) FILTER (WHERE aws_region <> ''), ARRAY[]) AS JSON)) AS regions,
      json_format(CAST(coalesce(array_agg(ec2_role_delivery ORDER BY ec2_role_delivery) FILTER (WHERE ec2_role_delivery <> ''), ARRAY[]) AS JSON)) AS ec2_role_delivery,
      min_by(ui_type, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_type,
      min_by(ui_principal, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_principal,
      min_by(ui_arn, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_arn,
      min_by(ui_account, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_account,
      min_by(ui_key, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_key,
      min_by(ui_user, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_user,
      min_by(ui_invoked_by, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS ui_invoked_by,
      min_by(is_present, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_present,
      min_by(is_type, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_type,
      min_by(is_principal, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_principal,
      min_by(is_arn, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_arn,
      min_by(is_account, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_account,
      min_by(is_user, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS is_user,
      min_by(creation_date, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS creation_date,
      min_by(ec2_role_delivery, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS first_ec2_role_delivery,
      min_by(source_identity, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS source_identity,
      min_by(web_provider, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS web_provider,
      min_by(scope_type, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS scope_type,
      min_by(scope_issued_to, ROW(coalesce(ms, 9223372036854775807), event_id, user_agent)) AS scope_issued_to
    FROM used
    GROUP BY k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family
  )
SELECT s.*, c.calls, c.error_count, c.denied_calls, c.event_ids, c.event_ids_truncated, a.actions, g.user_agents
FROM summary s
JOIN call_counts c USING (k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family)
JOIN action_counts a USING (k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family)
JOIN agents g USING (k_account, k_principal, k_key, k_ip, k_vpce, k_vpce_account, k_invoked_by, k_family);

-- offbox fullEvents: credential vending, ownership and revocation events, with their bodies
WITH events AS (
    SELECT
      coalesce(eventid, '') AS event_id,
      coalesce(eventtime, '') AS event_time,
      CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) AS ms,
      coalesce(eventversion, '') AS event_version,
      coalesce(eventsource, '') AS event_source,
      coalesce(eventname, '') AS event_name,
      coalesce(eventtype, '') AS event_type,
      coalesce(awsregion, '') AS aws_region,
      coalesce(sourceipaddress, '') AS source_ip,
      coalesce(useragent, '') AS user_agent,
      coalesce(errorcode, '') AS error_code,
      coalesce(errormessage, '') AS error_message,
      coalesce(nullif(recipientaccountid, ''), useridentity.accountid, '') AS account_id,
      coalesce(vpcendpointid, '') AS vpce,
      coalesce(vpcendpointaccountid, '') AS vpce_account,
      coalesce(useridentity.type, '') AS ui_type,
      coalesce(useridentity.principalid, '') AS ui_principal,
      coalesce(useridentity.arn, '') AS ui_arn,
      coalesce(useridentity.accountid, '') AS ui_account,
      coalesce(useridentity.accesskeyid, '') AS ui_key,
      coalesce(useridentity.username, '') AS ui_user,
      coalesce(useridentity.invokedby, '') AS ui_invoked_by,
      useridentity.sessioncontext.sessionissuer IS NOT NULL AS is_present,
      coalesce(useridentity.sessioncontext.sessionissuer.type, '') AS is_type,
      coalesce(useridentity.sessioncontext.sessionissuer.principalid, '') AS is_principal,
      coalesce(useridentity.sessioncontext.sessionissuer.arn, '') AS is_arn,
      coalesce(useridentity.sessioncontext.sessionissuer.accountid, '') AS is_account,
      coalesce(useridentity.sessioncontext.sessionissuer.username, '') AS is_user,
      coalesce(useridentity.sessioncontext.attributes.creationdate, '') AS creation_date,
      coalesce(useridentity.sessioncontext.ec2roledelivery, '') AS ec2_role_delivery,
      coalesce(useridentity.sessioncontext.sourceidentity, '') AS source_identity,
      coalesce(useridentity.sessioncontext.webidfederationdata.federatedprovider, '') AS web_provider,
      coalesce(useridentity.inscopeof.issuertype, '') AS scope_type,
      coalesce(useridentity.inscopeof.credentialsissuedto, '') AS scope_issued_to,
      requestparameters AS request_json,
      responseelements AS response_json
    FROM "security"."cloudtrail_logs"
    WHERE (coalesce(eventname, '') <> '' OR coalesce(eventsource, '') <> '')
      AND account IN ('111122223333', '444455556666') AND "timestamp" >= '2026/03/01' AND CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) >= 1772323200000
  )
SELECT * FROM events WHERE event_name IN ('AllocateAddress', 'AssociateAddress', 'AssociateNatGatewayAddress', 'AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AttachNetworkInterface', 'CreateNatGateway', 'CreateNetworkInterface', 'CreateVpcEndpoint', 'DeleteNatGateway', 'DeleteNetworkInterface', 'DeleteVpcEndpoints', 'DetachNetworkInterface', 'DisassociateAddress', 'DisassociateNatGatewayAddress', 'ModifyVpcEndpoint', 'PutRolePolicy', 'ReleaseAddress', 'RunInstances', 'TerminateInstances');

-- offbox totals: events read and the accounts whose trail they are
WITH events AS (
    SELECT
      coalesce(eventid, '') AS event_id,
      coalesce(eventtime, '') AS event_time,
      CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) AS ms,
      coalesce(eventversion, '') AS event_version,
      coalesce(eventsource, '') AS event_source,
      coalesce(eventname, '') AS event_name,
      coalesce(eventtype, '') AS event_type,
      coalesce(awsregion, '') AS aws_region,
      coalesce(sourceipaddress, '') AS source_ip,
      coalesce(useragent, '') AS user_agent,
      coalesce(errorcode, '') AS error_code,
      coalesce(errormessage, '') AS error_message,
      coalesce(nullif(recipientaccountid, ''), useridentity.accountid, '') AS account_id,
      coalesce(vpcendpointid, '') AS vpce,
      coalesce(vpcendpointaccountid, '') AS vpce_account,
      coalesce(useridentity.type, '') AS ui_type,
      coalesce(useridentity.principalid, '') AS ui_principal,
      coalesce(useridentity.arn, '') AS ui_arn,
      coalesce(useridentity.accountid, '') AS ui_account,
      coalesce(useridentity.accesskeyid, '') AS ui_key,
      coalesce(useridentity.username, '') AS ui_user,
      coalesce(useridentity.invokedby, '') AS ui_invoked_by,
      useridentity.sessioncontext.sessionissuer IS NOT NULL AS is_present,
      coalesce(useridentity.sessioncontext.sessionissuer.type, '') AS is_type,
      coalesce(useridentity.sessioncontext.sessionissuer.principalid, '') AS is_principal,
      coalesce(useridentity.sessioncontext.sessionissuer.arn, '') AS is_arn,
      coalesce(useridentity.sessioncontext.sessionissuer.accountid, '') AS is_account,
      coalesce(useridentity.sessioncontext.sessionissuer.username, '') AS is_user,
      coalesce(useridentity.sessioncontext.attributes.creationdate, '') AS creation_date,
      coalesce(useridentity.sessioncontext.ec2roledelivery, '') AS ec2_role_delivery,
      coalesce(useridentity.sessioncontext.sourceidentity, '') AS source_identity,
      coalesce(useridentity.sessioncontext.webidfederationdata.federatedprovider, '') AS web_provider,
      coalesce(useridentity.inscopeof.issuertype, '') AS scope_type,
      coalesce(useridentity.inscopeof.credentialsissuedto, '') AS scope_issued_to,
      requestparameters AS request_json,
      responseelements AS response_json
    FROM "security"."cloudtrail_logs"
    WHERE (coalesce(eventname, '') <> '' OR coalesce(eventsource, '') <> '')
      AND account IN ('111122223333', '444455556666') AND "timestamp" >= '2026/03/01' AND CAST(floor(to_unixtime(try(from_iso8601_timestamp(eventtime))) * 1000) AS BIGINT) >= 1772323200000
  )
SELECT coalesce(sum(n), 0) AS events, json_format(CAST(coalesce(array_agg(account_id ORDER BY account_id) FILTER (WHERE account_id <> ''), ARRAY[]) AS JSON)) AS accounts
FROM (SELECT account_id, count(*) AS n FROM events GROUP BY account_id) AS per_account;
