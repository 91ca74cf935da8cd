"""The composition root: every long-lived service of a party, built once from Settings.

``build_services`` wires the layers together (stores, party plumbing, the driver's job
services, the use-cases) and hands one ``Services`` object to whoever runs: the Flask app
(``create_app`` keeps it in ``app.extensions``), the scheduler (``build_scheduler``) and the
command-line entry points. Nothing else constructs these services, so each has one owner.
The serving engine loads numpy and pyarrow; it is built on first use so that an idle
server stays small.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, TypeVar

from fate_flow.driver.job_stopper import JobStopper
from fate_flow.driver.job_rerun import JobRerunner
from fate_flow.driver.job_submission import JobSubmitter
from fate_flow.driver.party_jobs import PartyJobs
from fate_flow.driver.waker import PREWARM, notify, socket_path
from fate_flow.party.client import FederatedClient
from fate_flow.party.mailbox import Mailbox
from fate_flow.party.nonce_store import DatabaseNonceStore
from fate_flow.services.data_access import DataAccess
from fate_flow.services.model_center import ModelCenter
from fate_flow.services.model_deploy import ModelDeployer
from fate_flow.settings import Settings
from fate_flow.stores.model_catalogue import ModelCatalogue
from fate_flow.stores.model_tags import ModelTags
from fate_flow.stores.output_data import OutputData
from fate_flow.stores.table_catalogue import TableCatalogue
from fate_flow.utils.signing import SignatureVerifier, signing_enabled

if TYPE_CHECKING:
    from fate_flow.driver.scheduler import Scheduler
    from fate_flow.driver.work_dir_lock import WorkDirLock
    from fate_flow.serving import ModelPublisher

T = TypeVar("T")


class Lazy(Generic[T]):
    """A service built by ``factory`` on first ``get()``, once, whichever thread asks first."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        """The service, built on the first call."""
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


@dataclass
class Services:
    """What routes, the scheduler and the entry points call into."""

    settings: Settings
    api: FederatedClient
    submitter: JobSubmitter
    party_jobs: PartyJobs
    stopper: JobStopper
    tables: TableCatalogue
    output_data: OutputData
    models: ModelCatalogue
    model_center: ModelCenter
    data_access: DataAccess
    mailbox: Mailbox
    verifier: SignatureVerifier | None
    deployer: ModelDeployer
    rerunner: JobRerunner
    model_tags: ModelTags
    publisher: Lazy["ModelPublisher"] = field(repr=False)


def build_services(settings: Settings) -> Services:
    """Wire every service of this party from ``settings`` (opens nothing: no file, socket or DB)."""
    wake_path = socket_path(settings.run_dir)
    wake = lambda: notify(wake_path)  # noqa: E731
    api = FederatedClient(settings)
    models = ModelCatalogue(settings.model_dir)
    submitter = JobSubmitter(settings, api, wake)
    tables = TableCatalogue(settings)
    verifier = (SignatureVerifier(settings.security, settings.party_ids,
                                  DatabaseNonceStore(settings.security.max_age))
                if signing_enabled(settings) else None)
    return Services(
        settings=settings, api=api, submitter=submitter,
        party_jobs=PartyJobs(settings, api, wake, models), stopper=JobStopper(settings, api, wake, tables),
        tables=tables, output_data=OutputData(tables), models=models,
        model_center=ModelCenter(settings, models, submitter, api),
        data_access=DataAccess(settings, submitter, tables, prewarm=lambda: notify(wake_path, PREWARM)),
        mailbox=Mailbox(settings.federation_dir), verifier=verifier, deployer=ModelDeployer(settings, models, api),
        rerunner=JobRerunner(settings, api, wake), model_tags=ModelTags(),
        publisher=Lazy(lambda: _build_publisher(settings, api, tables)),
    )


def _build_publisher(settings: Settings, api: FederatedClient, tables: TableCatalogue) -> "ModelPublisher":
    from fate_flow.serving import ModelPublisher, ServingService

    return ModelPublisher(settings, api, ServingService(settings, api, lambda: tables.storage))


def build_scheduler(services: Services, lock: "WorkDirLock") -> "Scheduler":
    """The party's scheduler over ``services``, under the work dir ``lock`` (taken if not held), and
    under the database's scheduler lease when the settings use one.

    Binds the wake-up socket, which only the lock holder may do; start it with ``start()``.
    """
    from fate_flow.driver.lease import LeaseKeeper, scheduler_lease_name
    from fate_flow.driver.scheduler import Scheduler
    from fate_flow.driver.waker import Waker

    settings = services.settings
    lock.acquire()
    lease = None
    if settings.uses_lease:  # several servers may share the database: lead only under the lease
        lease = LeaseKeeper(settings.address, settings.scheduler.lease_duration,
                            settings.scheduler.lease_renew_interval, scheduler_lease_name(settings.party_ids))
    return Scheduler(settings, services.api, services.party_jobs, services.stopper,
                     Waker(socket_path(settings.run_dir)), lock, lease)
