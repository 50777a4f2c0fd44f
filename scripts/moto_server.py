#!/usr/bin/env python3
"""The AWS API emulator (moto server) with one correction towards AWS behaviour.

moto 5.2.5 returns DescribeParameters in pages of 10 whatever MaxResults says; AWS honours MaxResults
(1-50). ssm-replicator's call budgets depend on 50-result pages, so this launcher makes the emulator
honour MaxResults the way AWS documents it (default 10 when absent, as moto had it). Nothing else changes.
Usage: moto_server.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""
from typing import Any

from moto.core.responses import ActionResult
from moto.server import main
from moto.ssm.responses import SimpleSystemManagerResponse


def describe_parameters(self: SimpleSystemManagerResponse) -> ActionResult:
    page_size = max(1, min(50, int(self._get_param("MaxResults") or 10)))
    token = self._get_param("NextToken")
    token = int(token.strip()) if hasattr(token, "strip") and token.strip() else 0
    result = self.ssm_backend.describe_parameters(self._get_param("Filters"), self._get_param("ParameterFilters"))
    page = result[token:token + page_size]
    response: dict[str, Any] = {"Parameters": [p.describe_response_object(False) for p in page]}
    if token + page_size < len(result):
        response["NextToken"] = str(token + page_size)
    return ActionResult(response)


SimpleSystemManagerResponse.describe_parameters = describe_parameters

if __name__ == "__main__":
    main()
