// The EventBridge rules: parameter changes (native), tag changes and batch deletes (CloudTrail, when a trail
// exists) and the full-sync schedule. Each target retries and dead-letters what it cannot deliver.
//
// The patterns route only what is about a replicated parameter and succeeded, so that nothing else reaches
// the function (and none of its retries or alarms): tag calls only for resourceType Parameter and, with
// prefixes, resource ids (names or ARNs) under them; no event carrying `errorCode` (CloudTrail: the call
// failed) or `exception` (native: the write failed). Pattern syntax: prefix matching and
// `{"exists": false}`, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html;
// an array field (DeleteParameters' names) matches when any element matches,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ReplicatorConfig } from './config';

export const CHANGE_OPERATIONS = ['Create', 'Update', 'Delete', 'LabelParameterVersion'];
export const TAG_EVENTS = ['AddTagsToResource', 'RemoveTagsFromResource'];
export const BATCH_DELETE_EVENTS = ['DeleteParameters'];
/**
 * A label removed: Parameter Store's native change event has no operation for it (Create, Update, Delete,
 * LabelParameterVersion only), so it comes from CloudTrail. LabelParameterVersion is not asked of CloudTrail:
 * the native event already routes it, and both would invoke the function twice for one call.
 */
export const UNLABEL_EVENTS = ['UnlabelParameterVersion'];
/** The field is absent from the event. */
export const ABSENT = [{ exists: false }];

/** `name` (or `requestParameters.*`) restricted to the prefixes; nothing when every name is replicated. */
function namePattern(c: ReplicatorConfig): { prefix: string }[] | undefined {
  return c.pathPrefixes.length === 0 ? undefined : c.pathPrefixes.map((p) => ({ prefix: p }));
}

/**
 * A tag call's `resourceId` under the prefixes: tag calls name a parameter by name or by ARN
 * (`arn:aws:ssm:region:account:parameter/app/x` for `/app/x`); nothing when every name is replicated.
 */
function resourceIdPattern(c: ReplicatorConfig, stack: Stack): { prefix: string }[] | undefined {
  if (c.pathPrefixes.length === 0) return undefined;
  const arn = `arn:${stack.partition}:ssm:${c.sourceRegion}:${stack.account}:parameter`;
  return c.pathPrefixes.flatMap((p) => [{ prefix: p }, { prefix: `${arn}${p}` }]);
}

export interface RulesProps {
  readonly config: ReplicatorConfig;
  readonly function: lambda.IFunction;
  readonly deadLetters: sqs.IQueue;
}

export class ReplicatorRules extends Construct {
  readonly change: events.Rule;
  readonly tagChange?: events.Rule;
  readonly batchDelete?: events.Rule;
  readonly unlabel?: events.Rule;
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
        detail: { operation: CHANGE_OPERATIONS, ...(names ? { name: names } : {}), exception: ABSENT },
      },
      targets: [target()],
    });

    if (config.cloudTrail) {
      const ids = resourceIdPattern(config, Stack.of(this));
      this.tagChange = new events.Rule(this, 'TagChange', {
        description: 'Tag changes of parameters (CloudTrail) → replicate',
        eventPattern: {
          source: ['aws.ssm'],
          detailType: ['AWS API Call via CloudTrail'],
          detail: {
            eventSource: ['ssm.amazonaws.com'],
            eventName: TAG_EVENTS,
            errorCode: ABSENT,
            requestParameters: { resourceType: ['Parameter'], ...(ids ? { resourceId: ids } : {}) },
          },
        },
        targets: [target()],
      });
      this.batchDelete = new events.Rule(this, 'BatchDelete', {
        description: 'Batch deletes of parameters (CloudTrail DeleteParameters) → replicate',
        eventPattern: {
          source: ['aws.ssm'],
          detailType: ['AWS API Call via CloudTrail'],
          detail: {
            eventSource: ['ssm.amazonaws.com'],
            eventName: BATCH_DELETE_EVENTS,
            errorCode: ABSENT,
            ...(names ? { requestParameters: { names } } : {}),
          },
        },
        targets: [target()],
      });
    }
    if (config.cloudTrail && config.replicateLabels) {
      this.unlabel = new events.Rule(this, 'Unlabel', {
        description: 'Labels removed from parameters (CloudTrail UnlabelParameterVersion) → replicate labels',
        eventPattern: {
          source: ['aws.ssm'],
          detailType: ['AWS API Call via CloudTrail'],
          detail: {
            eventSource: ['ssm.amazonaws.com'],
            eventName: UNLABEL_EVENTS,
            errorCode: ABSENT,
            ...(names ? { requestParameters: { name: names } } : {}),
          },
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
