// Alarms to an SNS topic, and a dashboard. Replication metrics come from the function's CloudWatch Embedded
// Metric Format lines (EMF_METRICS, namespace SsmReplicator, dimension FunctionName; function/src/metrics.rs
// writes them, infra/test/alarms.test.ts ties each name and dimension key to it). The one log metric filter
// left counts completed full syncs (FILTERS: the same test ties its pattern to the log call in the Rust code).
//
// Alarms page on what is left after the retries, never on an error a retry fixes: events EventBridge could
// not deliver after its retries (RuleDeadLetters), invocations that failed after Lambda's retries
// (FailedInvocations), on-failure records Lambda could not deliver (DestinationDeliveryFailures), permanent
// per-parameter failures (FailedPermanently: reason not `transient`), a full sync that stopped completing,
// replicas later than the latency objective (ReplicationLatencyP99) and full syncs that keep repairing drift
// for a day (DriftRepaired: events are being lost). Function errors (each failed attempt, retried) are on
// the dashboard only.
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
import { OVERDUE_EVALUATION_PERIODS, ReplicatorConfig, driftAlarmWindow, overduePeriodMinutes } from './config';

export const NAMESPACE = 'SsmReplicator';

/**
 * The EMF metrics the dashboard and alarms use (function/src/metrics.rs writes them, with the dimension sets
 * [FunctionName], [FunctionName, Target] and [FunctionName, Trigger] or [FunctionName, Reason]; FailedPermanently [FunctionName]
 * only). Counts: replicas created, updated or deleted (Replicated); written by a full sync, i.e. an event was
 * missed (DriftRepaired); failed, any reason (Failed), and failed for a reason other than `transient`
 * (FailedPermanently). ReplicationLatency: milliseconds from the source change (or the full sync's start) to
 * the replica written, published as value arrays, so percentiles work.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export const EMF_METRICS = ['Replicated', 'DriftRepaired', 'Failed', 'FailedPermanently', 'ReplicationLatency'] as const;
export type EmfMetric = (typeof EMF_METRICS)[number];
/** The EMF dimension keys the dashboard and alarms use: every metric is read for the function as a whole. */
export const EMF_DIMENSIONS = ['FunctionName', 'Trigger'] as const;

/**
 * Metric filter patterns on the function's JSON log lines (tracing's JSON format: the event's fields, its
 * message included, under `fields`): only what no EMF metric counts.
 * JSON filter syntax (`=`, `!=`, `&&`, `||` on `$.` selectors):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export const FILTERS = {
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
    const completed = fromLogs('FullSyncCompleted');
    const emf = (name: EmfMetric, statistic: string) => new cloudwatch.Metric({
      namespace: NAMESPACE,
      metricName: name,
      dimensionsMap: { FunctionName: props.function.functionName },
      statistic,
      period: Duration.minutes(5),
    });
    const replicated = emf('Replicated', 'Sum');
    const failed = emf('Failed', 'Sum');
    const failedPermanently = emf('FailedPermanently', 'Sum');
    const drift = emf('DriftRepaired', 'Sum');
    // Latency of the event path only (Trigger=event): a full sync's counts from its start, and the first one
    // after a deployment writes every replica, for hours at 3 writes per second; it must not page.
    const eventLatency = (statistic: string) => emf('ReplicationLatency', statistic)
      .with({ dimensionsMap: { FunctionName: props.function.functionName, Trigger: 'event' } });
    const latencyP50 = eventLatency('p50');
    const latencyP99 = eventLatency('p99');
    const objective = Duration.minutes(config.latencyObjectiveMinutes);

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
    // Transient failures are retried (the invocation fails, Lambda retries it, then the FailedInvocations
    // queue holds it; a full sync repairs on its next run): FailedPermanently leaves them out.
    alarm('FailedReplicationsAlarm', 'ssm-replicator: replications failed permanently (reason codes in the logs and the Failed metric\'s Reason dimension)',
      failedPermanently);
    const interval = Duration.minutes(overduePeriodMinutes(config.fullSyncIntervalMinutes));
    alarm('FullSyncOverdue', `ssm-replicator: no full sync completed in ${interval.toMinutes()} minutes`,
      completed.with({ period: interval }), {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: OVERDUE_EVALUATION_PERIODS,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    // p99 of the latency over 5 minutes above the objective in 2 of the last 3 periods. At this tool's
    // volume (a few changes a minute at most) p99 is close to the slowest replica of the period, so one late
    // replica (an event Lambda retried after a throttled attempt) is one breaching period, not a page; a
    // backlog (throttling, a full queue, a slow target) keeps writing late replicas and pages within 15
    // minutes. Evaluated however few samples there are (`evaluate`, stated: with `ignore` a p99 of fewer than
    // 1,000 values would never change the alarm's state, and this tool rarely writes that many replicas in 5
    // minutes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html);
    // a period without a replica written is not breaching.
    alarm('ReplicationLatencyP99', `ssm-replicator: p99 replication latency above the ${config.latencyObjectiveMinutes}-minute objective ` +
      '(see README: throttling, Failed, the dead-letter queues)', latencyP99, {
      threshold: objective.toMilliseconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      evaluateLowSampleCountPercentile: 'evaluate',
    });
    // Full syncs keep repairing drift: events are being lost (a disabled rule, a dead-letter queue filling
    // up, a target changed by hand). Period and evaluation periods: driftAlarmWindow (config.ts) says why.
    const driftWindow = driftAlarmWindow(config.fullSyncIntervalMinutes);
    alarm('DriftRepaired', `ssm-replicator: full syncs repaired drift in every ${driftWindow.periodMinutes}-minute period for ` +
      `${driftWindow.periodMinutes * driftWindow.evaluationPeriods / 60} hours (events are being lost; see README)`,
    drift.with({ period: Duration.minutes(driftWindow.periodMinutes) }), {
      evaluationPeriods: driftWindow.evaluationPeriods,
      datapointsToAlarm: driftWindow.evaluationPeriods,
    });

    new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Replication latency (ms)',
            // Labelled here only: an alarm on a labelled metric renders as metric math.
            left: [latencyP50.with({ label: 'p50' }), latencyP99.with({ label: 'p99' })],
            leftAnnotations: [{ value: objective.toMilliseconds(), label: `objective: ${config.latencyObjectiveMinutes} min`, color: cloudwatch.Color.RED }],
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Replications', left: [replicated, failed, failedPermanently], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Drift repaired by full syncs', left: [drift.with({ period: Duration.hours(1) })], width: 12 }),
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
