"""The stack only composes constructs; each construct owns its resources and grants."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.api import Api
from infra.cases import Cases
from infra.dunning import Dunning
from infra.ingest import Ingest
from infra.layer import SharedLayer
from infra.monitoring import Monitoring
from infra.reconcile import Reconcile, grant_booking
from infra.storage import Storage


class SaikenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = Storage(self, "Storage")
        layer = SharedLayer(self, "Shared").layer
        environment = {
            "SAIKEN_DEBTORS_TABLE": self.storage.debtors.table_name,
            "SAIKEN_RECEIVABLES_TABLE": self.storage.receivables.table_name,
            "SAIKEN_INGESTION_RUNS_TABLE": self.storage.ingestion_runs.table_name,
            "SAIKEN_API_KEYS_TABLE": self.storage.api_keys.table_name,
            "SAIKEN_CONTACTS_TABLE": self.storage.contacts.table_name,
            "SAIKEN_IDEMPOTENCY_TABLE": self.storage.idempotency.table_name,
            "SAIKEN_PAYMENTS_TABLE": self.storage.payments.table_name,
            "SAIKEN_BUCKET": self.storage.bucket.bucket_name,
        }
        self.ingest = Ingest(self, "Intake", storage=self.storage, layer=layer, environment=environment)
        self.api = Api(self, "Http", storage=self.storage, layer=layer, environment=environment)
        self.dunning = Dunning(self, "Dunning", storage=self.storage, layer=layer, environment=environment)
        self.dunning.allow_replanning(self.api.handler, self.storage)
        self.reconcile = Reconcile(self, "Payments", storage=self.storage, layer=layer, environment=environment)
        grant_booking(self.storage, self.api.handler.role)  # POST /payments, manual matches
        self.cases = Cases(
            self,
            "Cases",
            storage=self.storage,
            layer=layer,
            environment=environment,
            configuration_set=self.dunning.configuration_set,
        )
        self.dunning.allow_replanning(self.cases.events_fn, self.storage)  # a bounce / opt-out re-plans
        for fn in (self.dunning.scheduler_fn, self.dunning.send_fn, self.api.handler, self.reconcile.daily):
            self.cases.allow_escalation(fn)
        self._grant_case_work()
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            ingest=self.ingest,
            api=self.api,
            dunning=self.dunning,
            reconcile=self.reconcile,
            cases=self.cases,
        )

    def _grant_case_work(self) -> None:
        """The API's case routes (timeline, notes, promise, dispute / hold, worklist) and the daily
        follow-up (promises settled, holds expired, each with its timeline entry)."""
        s = self.storage
        api = self.api.handler.role
        s.grant_items(
            api, s.receivables, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], indexes=["worklist"]
        )
        s.grant_items(api, s.contacts, ["dynamodb:Query", "dynamodb:PutItem"], indexes=["by_receivable"])
        s.grant_items(self.reconcile.daily.role, s.contacts, ["dynamodb:PutItem"])
