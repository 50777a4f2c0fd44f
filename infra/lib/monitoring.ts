// Alarms (function errors, dead letters, failed replications, full sync overdue) to an SNS topic, and a
// dashboard. Replication metrics come from the function's JSON logs through metric filters.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ReplicatorConfig } from './config';

export const NAMESPACE = 'SsmReplicator';

export interface MonitoringProps {
  readonly config: ReplicatorConfig;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  readonly queues: { name: string; queue: sqs.IQueue }[];
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    this.topic = new sns.Topic(this, 'Alarms', {
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    const fromLogs = (name: string, pattern: string) => {
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
    const failed = fromLogs('FailedReplications', '{ $.fields.message = "replication result" && $.fields.outcome = "failed" }');
    const written = fromLogs('WrittenReplications', '{ $.fields.message = "replication result" && ($.fields.outcome = "created" || $.fields.outcome = "updated" || $.fields.outcome = "deleted") }');
    const completed = fromLogs('FullSyncCompleted', '{ $.fields.message = "full sync complete" }');

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
    alarm('FunctionErrors', 'ssm-replicator invocations failed (Lambda retries them)', props.function.metricErrors({ period: Duration.minutes(5) }));
    for (const { name, queue } of props.queues) {
      alarm(`${name}Depth`, `ssm-replicator: messages in the ${name} dead-letter queue (see README: redriving)`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }));
    }
    alarm('FailedReplicationsAlarm', 'ssm-replicator: replications failed permanently (reason codes in the logs)', failed);
    const interval = Duration.minutes(Math.max(config.fullSyncIntervalMinutes * 2, 30));
    alarm('FullSyncOverdue', `ssm-replicator: no full sync completed in ${interval.toMinutes()} minutes`,
      completed.with({ period: interval }), {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
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
