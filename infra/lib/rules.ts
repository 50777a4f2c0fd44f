// The EventBridge rules: parameter changes (native), tag changes (CloudTrail, when a trail exists) and the
// full-sync schedule. Each target retries and dead-letters what it cannot deliver.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ReplicatorConfig } from './config';

export const CHANGE_OPERATIONS = ['Create', 'Update', 'Delete', 'LabelParameterVersion'];
export const TAG_EVENTS = ['AddTagsToResource', 'RemoveTagsFromResource', 'DeleteParameters'];

/** `name` (or `requestParameters.*`) restricted to the prefixes; nothing when every name is replicated. */
function namePattern(c: ReplicatorConfig): { prefix: string }[] | undefined {
  return c.pathPrefixes.length === 0 ? undefined : c.pathPrefixes.map((p) => ({ prefix: p }));
}

export interface RulesProps {
  readonly config: ReplicatorConfig;
  readonly function: lambda.IFunction;
  readonly deadLetters: sqs.IQueue;
}

export class ReplicatorRules extends Construct {
  readonly change: events.Rule;
  readonly tagChange?: events.Rule;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: RulesProps) {
    super(scope, id);
    const { config } = props;
    const target = () =>
      new targets.LambdaFunction(props.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: props.deadLetters,
      });
    const names = namePattern(config);

    this.change = new events.Rule(this, 'ParameterChange', {
      description: 'Parameter Store changes in the source region → replicate',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['Parameter Store Change'],
        detail: { operation: CHANGE_OPERATIONS, ...(names ? { name: names } : {}) },
      },
      targets: [target()],
    });

    if (config.cloudTrail) {
      this.tagChange = new events.Rule(this, 'TagChange', {
        description: 'Tag changes and batch deletes of parameters (CloudTrail) → replicate',
        eventPattern: {
          source: ['aws.ssm'],
          detailType: ['AWS API Call via CloudTrail'],
          detail: { eventSource: ['ssm.amazonaws.com'], eventName: TAG_EVENTS },
        },
        targets: [target()],
      });
    }

    this.schedule = new events.Rule(this, 'FullSync', {
      description: 'Scheduled full sync (the backstop for best-effort events)',
      schedule: events.Schedule.expression(config.schedule),
      targets: [target()],
    });
  }
}
