// Alarms to an SNS topic, and a dashboard. Replication metrics come from the function's JSON logs through
// metric filters (FILTERS: infra/test/alarms.test.ts ties each pattern to the log call in the Rust code).
//
// Alarms page on what is left after the retries, never on an error a retry fixes: events EventBridge could
// not deliver after its retries (RuleDeadLetters), invocations that failed after Lambda's retries
// (FailedInvocations), on-failure records Lambda could not deliver (DestinationDeliveryFailures), permanent
// per-parameter failures (FailedReplications, reason not `transient`) and a full sync that stopped
// completing. Function errors (each failed attempt, retried) are on the dashboard only.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OVERDUE_EVALUATION_PERIODS, ReplicatorConfig, overduePeriodMinutes } from './config';

export const NAMESPACE = 'SsmReplicator';

/**
 * Metric filter patterns on the function's JSON log lines (tracing's JSON format: the event's fields, its
 * message included, under `fields`). Transient failures are retried (the invocation fails, Lambda retries it,
 * then the FailedInvocations queue holds it; a full sync repairs on its next run): they do not count.
 * JSON filter syntax (`=`, `!=`, `&&`, `||` on `$.` selectors):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export const FILTERS = {
  FailedReplications: '{ $.fields.message = "replication result" && $.fields.outcome = "failed" && $.fields.reason != "transient" }',
  WrittenReplications: '{ $.fields.message = "replication result" && ($.fields.outcome = "created" || $.fields.outcome = "updated" || $.fields.outcome = "deleted") }',
  FullSyncCompleted: '{ $.fields.message = "full sync complete" }',
};

export interface MonitoringProps {
  readonly config: ReplicatorConfig;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  readonly queues: { name: string; queue: sqs.IQueue }[];
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    const stack = Stack.of(this);
    // CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key alias/aws/sns: its key
    // policy cannot be changed to let cloudwatch.amazonaws.com use it. The topic needs a customer managed key
    // whose policy allows the service principal kms:Decrypt and kms:GenerateDataKey*.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html ("Compatibility between event
    // sources from AWS services and encrypted topics"); https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
    this.topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'ssm-replicator: encrypts the alarm topic; CloudWatch alarms of this account and region use it to publish',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // The alarms of this account and region only. Naming each alarm's ARN is impossible here: the alarms
    // reference the topic, the topic the key, so the key policy cannot reference the alarms (a cycle).
    const alarmArns = `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`;
    const fromAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarmArns },
    };
    this.topicKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromAlarms,
    }));
    this.topic = new sns.Topic(this, 'Alarms', { masterKey: this.topicKey, enforceSSL: true });
    // The topic policy CDK writes (enforceSSL) replaces SNS's default one: allow the alarms explicitly.
    // https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: fromAlarms,
    }));
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    const fromLogs = (name: keyof typeof FILTERS) => {
      const pattern = FILTERS[name];
      new logs.MetricFilter(this, `${name}Filter`, {
        logGroup: props.logGroup,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: NAMESPACE,
        metricName: name,
        metricValue: '1',
        defaultValue: 0,
      });
      return new cloudwatch.Metric({ namespace: NAMESPACE, metricName: name, statistic: 'Sum', period: Duration.minutes(5) });
    };
    const failed = fromLogs('FailedReplications');
    const written = fromLogs('WrittenReplications');
    const completed = fromLogs('FullSyncCompleted');

    const alarm = (alarmId: string, description: string, metric: cloudwatch.Metric, opts: Partial<cloudwatch.CreateAlarmOptions> = {}) => {
      const a = metric.createAlarm(this, alarmId, {
        alarmDescription: description,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...opts,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };
    // Lambda could not deliver an on-failure record to the FailedInvocations queue: the event is lost.
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html (DestinationDeliveryFailures)
    alarm('DestinationDeliveryFailures', 'ssm-replicator: Lambda could not deliver failed invocations to the FailedInvocations queue (events lost)',
      props.function.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: Duration.minutes(5) }));
    for (const { name, queue } of props.queues) {
      alarm(`${name}Depth`, `ssm-replicator: messages in the ${name} dead-letter queue (see README: redriving)`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }));
    }
    alarm('FailedReplicationsAlarm', 'ssm-replicator: replications failed permanently (reason codes in the logs)', failed);
    const interval = Duration.minutes(overduePeriodMinutes(config.fullSyncIntervalMinutes));
    alarm('FullSyncOverdue', `ssm-replicator: no full sync completed in ${interval.toMinutes()} minutes`,
      completed.with({ period: interval }), {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: OVERDUE_EVALUATION_PERIODS,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });

    new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Replications', left: [written, failed], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Full syncs completed', left: [completed.with({ period: Duration.hours(1) })], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function',
            left: [props.function.metricInvocations(), props.function.metricErrors(), props.function.metricThrottles()],
            right: [props.function.metricDuration()],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead letters',
            left: props.queues.map(({ queue }) => queue.metricApproximateNumberOfMessagesVisible()),
            width: 12,
          }),
        ],
      ],
    });
  }
}
