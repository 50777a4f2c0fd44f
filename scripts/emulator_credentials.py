#!/usr/bin/env python3
"""Credentials that act in ACCOUNT in the emulator, as shell exports.

The emulator (moto) keeps each account's resources apart and maps credentials from STS AssumeRole to the
role's account; it checks no trust policy. Used to deploy a target stack into another account locally.
Usage: eval "$(emulator_credentials.py ACCOUNT)"   (AWS_ENDPOINT_URL must point at the emulator)
"""
import os
import shlex
import sys

import boto3


def main() -> None:
    if len(sys.argv) != 2 or not (sys.argv[1].isdigit() and len(sys.argv[1]) == 12):
        sys.exit("usage: emulator_credentials.py ACCOUNT (12 digits)")
    account = sys.argv[1]
    sts = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/emulator-operator",
                            RoleSessionName="ssm-replicator-local")["Credentials"]
    for name, value in (("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]), ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
                        ("AWS_SESSION_TOKEN", creds["SessionToken"])):
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
