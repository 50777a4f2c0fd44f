// CDK renders a DependsOn from each Lambda function to its role although the function's Role property
// (a GetAtt of that role) already orders them; cfn-lint flags it (W3005). Drop just that entry and keep
// every other dependency (e.g. on the inline policies the function needs before its first invocation).
import { CfnResource, Lazy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export function dropRedundantRoleDependencies(scope: Construct): void {
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof lambda.Function) || construct.role === undefined) continue;
    const fn = construct.node.defaultChild as lambda.CfnFunction;
    const role = construct.role.node.defaultChild;
    if (!(role instanceof iam.CfnRole)) continue;
    const stack = Stack.of(construct);
    // Resolved when the template is rendered, after CDK has turned construct dependencies into DependsOn.
    fn.addOverride('DependsOn', Lazy.any({
      produce: () => {
        const others = fn
          .obtainDependencies()
          .filter((d): d is CfnResource => d instanceof CfnResource && d !== role)
          .map((d) => stack.resolve(d.logicalId) as string)
          .sort();
        return others.length > 0 ? others : undefined;
      },
    }));
  }
}
