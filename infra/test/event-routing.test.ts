// Finding 3 (issue 11): only events about a replicated parameter, whose call succeeded, reach the function.
// The synthesized rules' patterns are evaluated against the event fixtures the Rust tests use
// (function/tests/fixtures/events), with the EventBridge semantics the patterns rely on: exact values,
// `prefix`, `{"exists": false}`, and an array field matching when any element does
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html). The emulator
// has no TestEventPattern; `make demo` also routes events through the deployed rules in the emulator.
import * as fs from 'fs';
import * as path from 'path';
import { matches, resolve, synth } from './helpers';

const FIXTURES = path.join(__dirname, '..', '..', 'function', 'tests', 'fixtures', 'events');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

describe('event routing', () => {
  // The fixtures' account and the prefix their names use.
  const { template } = synth({ account: '123456789012', pathPrefixes: ['/app/'] });
  const rules = Object.values(template.findResources('AWS::Events::Rule')) as any[];
  const patterns = rules.filter((r) => r.Properties.EventPattern).map((r) => resolve(r.Properties.EventPattern));
  const routed = (file: string) => patterns.filter((p) => matches(fixture(file), p)).length;

  test('parameter changes, tag changes on parameters under the prefixes (by name or ARN) and batch deletes are routed once', () => {
    for (const file of [
      'native-create.json', 'native-update.json', 'native-delete.json', 'native-label.json',
      'cloudtrail-add-tags.json', 'cloudtrail-add-tags-arn.json', 'cloudtrail-remove-tags.json',
      'cloudtrail-delete-parameters.json',
    ]) {
      expect([file, routed(file)]).toEqual([file, 1]);
    }
  });

  test('tags on other SSM resource types, names outside the prefixes and failed calls are not routed', () => {
    for (const file of [
      'cloudtrail-add-tags-document.json', 'cloudtrail-remove-tags-maintenance-window.json',
      'cloudtrail-add-tags-outside-prefixes.json', 'native-update-outside-prefixes.json',
      'native-create-exception.json',
    ]) {
      expect([file, routed(file)]).toEqual([file, 0]);
    }
    const failedBatch = fixture('cloudtrail-delete-parameters.json');
    failedBatch.detail.errorCode = 'AccessDenied';
    expect(patterns.filter((p) => matches(failedBatch, p))).toHaveLength(0);
    const failedTag = fixture('cloudtrail-add-tags.json');
    failedTag.detail.errorCode = 'InvalidResourceId';
    expect(patterns.filter((p) => matches(failedTag, p))).toHaveLength(0);
  });

  test('DeleteParameters has its own rule; the tag rule names only the tag calls on Parameter', () => {
    const tag = patterns.find((p) => p.detail.eventName?.includes('AddTagsToResource'));
    const batch = patterns.find((p) => p.detail.eventName?.includes('DeleteParameters'));
    expect(tag.detail.eventName).toEqual(['AddTagsToResource', 'RemoveTagsFromResource']);
    expect(tag.detail.requestParameters.resourceType).toEqual(['Parameter']);
    expect(tag.detail.errorCode).toEqual([{ exists: false }]);
    expect(batch.detail.eventName).toEqual(['DeleteParameters']);
    expect(batch.detail.errorCode).toEqual([{ exists: false }]);
    const native = patterns.find((p) => p['detail-type']?.includes('Parameter Store Change'));
    expect(native.detail.exception).toEqual([{ exists: false }]);
  });

  test('without prefixes every parameter name is routed, still only for resourceType Parameter', () => {
    const { template: t } = synth({ account: '123456789012', pathPrefixes: [], kmsKeys: {} });
    const all = (Object.values(t.findResources('AWS::Events::Rule')) as any[])
      .filter((r) => r.Properties.EventPattern).map((r) => resolve(r.Properties.EventPattern));
    const n = (file: string) => all.filter((p) => matches(fixture(file), p)).length;
    expect(n('cloudtrail-add-tags-outside-prefixes.json')).toBe(1);
    expect(n('native-update-outside-prefixes.json')).toBe(1);
    expect(n('cloudtrail-add-tags-document.json')).toBe(0);
  });
});
