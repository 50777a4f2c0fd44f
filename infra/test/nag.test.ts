import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synth } from './helpers';

describe('cdk-nag AwsSolutions', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['with trail, prefixes and initial sync', { initialSync: true }],
    ['without trail or prefixes', { cloudTrail: false, pathPrefixes: [], kmsKeys: {} }],
    ['with secrets', { secrets: { enabled: true, namePrefixes: ['prod/', 'shared/'] } }],
  ];
  test.each(variants)('%s: zero unacknowledged findings', (_name, overrides) => {
    const { stack } = synth(overrides, true);
    const annotations = Annotations.fromStack(stack);
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(warnings.map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
  });
});
