"""Lambda TOKEN authorizer: an API key (stored hashed) -> the creditor it belongs to."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.adapters.repository import hash_api_key
from saiken.observability import logger

BEARER = "Bearer "


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    token = event.authorization_token or ""
    if not token.startswith(BEARER) or len(token) <= len(BEARER):
        raise Exception("Unauthorized")
    arn = event.parsed_arn
    key = token[len(BEARER) :].strip()
    creditor = wiring.api_keys().creditor_for(key)
    policy = APIGatewayAuthorizerResponse(
        principal_id=creditor or "anonymous",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        # key_id: a short, non-secret id of the key (its hash's prefix), for the audit trail
        context={"creditor_id": creditor, "key_id": hash_api_key(key)[:12]} if creditor else None,
    )
    if creditor is None:
        logger.warning("unknown or disabled API key")
        policy.deny_all_routes()
    else:
        # The policy is cached for the key (TTL on the authorizer), so it must cover every route.
        policy.allow_all_routes()
    return policy.asdict()
