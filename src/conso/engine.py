"""The one write path: every change to accounts, users, lines and usage goes here.

A command loads the state it needs (from the in-memory cache or the store),
asks the domain what changes, and commits state and idempotency keys in one
transaction. The cache is updated only after the commit succeeded, so readers
never see a change that is not durable, and a failed commit leaves no trace.

A `shared` engine is one of several processes on one database (API nodes and
stream workers on PostgreSQL): it keeps nothing between commands. Each command
locks the rows of the lines it touches, then reads their state from the store,
so two processes never rate the same line from stale state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

import orjson

from conso.domain.alerts import (
    AlertError,
    AlertSettings,
    crossings,
    default_settings,
    parse_settings,
    watch,
)
from conso.domain.catalog import Catalog, Plan, PlanKind
from conso.domain.consult import UsageSummary, summarize
from conso.domain.cycle import MAX_CYCLE_DAY, MIN_CYCLE_DAY, Cycle, cycle_of
from conso.domain.ids import (
    ACCOUNT_ID,
    E164,
    EMAIL,
    INTERNET_LINE_ID,
    LANGUAGES,
    LOGIN,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from conso.domain.line import Line, PlanPeriod
from conso.domain.outbox import OutboxMessage
from conso.domain.rating import CycleUsage, Rating, rate
from conso.domain.records import RecordError, UsageRecord, parse_record
from conso.errors import Conflict, InvalidInput
from conso.notify.compose import Recipient, notification_messages
from conso.security import hash_password
from conso.store.base import (
    Account,
    RejectedRecord,
    Store,
    StoredRecord,
    StoreTransaction,
    User,
)

log = logging.getLogger("conso.engine")

MAX_BATCH = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    id: str | None
    error: str


@dataclass(slots=True)
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


T = TypeVar("T")


@dataclass(slots=True)
class Batch:
    """What one command changes (records, cycle usage, messages), before its commit."""

    now: datetime
    result: BatchResult
    working: dict[tuple[str, date], CycleUsage] = field(default_factory=dict)
    rows: list[StoredRecord] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    # Cycles whose fired thresholds changed: the only cycle state not in the records.
    fired_changed: set[tuple[str, date]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Put(Generic[T]):
    """The result of an idempotent PUT: the thing, and whether it was created."""

    value: T
    created: bool


class Engine:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_future: timedelta = timedelta(hours=24),
        on_batch: Callable[[BatchResult], None] | None = None,
        on_messages: Callable[[], None] | None = None,
        email_sender: str = "conso@localhost",
        shared: bool = False,
    ) -> None:
        self.store = store
        self.shared = shared
        self.catalog = catalog
        self.clock = clock
        self.max_future = max_future
        self._on_batch = on_batch
        self.on_messages = on_messages
        self.email_sender = email_sender
        self.lock = threading.RLock()
        self._lines: dict[str, Line] = {}
        self._cycles: dict[tuple[str, date], CycleUsage] = {}
        self._alerts: dict[str, AlertSettings] = {}
        self._recipients: dict[str, Recipient] = {}
        self._defaults: dict[tuple[str, str | None], AlertSettings] = {}

    # -- reads (cache first; misses are filled under the lock) -----------------

    def line(self, line_id: str) -> Line | None:
        if self.shared:
            return self.store.get_line(line_id)
        line = self._lines.get(line_id)
        if line is not None:
            return line
        with self.lock:
            return self.load_line_locked(line_id)

    def load_line_locked(self, line_id: str) -> Line | None:
        line = self._lines.get(line_id)
        if line is None:
            line = self.store.get_line(line_id)
            if line is not None:
                self._lines[line_id] = line
        return line

    def _load_cycle(self, line_id: str, cycle: Cycle) -> CycleUsage:
        key = (line_id, cycle.start_date)
        usage = self._cycles.get(key)
        if usage is None:
            usage = self.store.load_cycle(line_id, cycle.start_date) or CycleUsage(cycle)
            self._cycles[key] = usage
        return usage

    def cycle_usage(self, line: Line, at: datetime) -> CycleUsage:
        cycle = cycle_of(at, line.cycle_day)
        if self.shared and not self.lock_held():
            return self.store.load_cycle(line.id, cycle.start_date) or CycleUsage(cycle)
        usage = self._cycles.get((line.id, cycle.start_date))
        if usage is not None:
            return usage
        with self.lock:
            return self._load_cycle(line.id, cycle)

    def lock_held(self) -> bool:
        """Whether this thread is inside a command (its reads are the command's)."""
        return bool(self.lock._is_owned())  # type: ignore[attr-defined]  # RLock has no public one

    @contextmanager
    def command(self, line_ids: Iterable[str] = ()) -> Iterator[StoreTransaction]:
        """One command: the engine lock and one store transaction, committed when the
        block ends. A shared engine first locks the rows of `line_ids` and forgets
        what it read before, so the command sees the state other processes committed."""
        with self.lock, self.store.transaction() as tx:
            if self.shared:
                tx.lock_lines(list(line_ids))  # sorted there: no deadlock between processes
                self._forget()
            yield tx

    def _forget(self) -> None:
        self._lines.clear()
        self._cycles.clear()
        self._alerts.clear()
        self._recipients.clear()

    def cached_line_count(self) -> int:
        return len(self._lines)

    def evict_cycles(self, ended_before: datetime) -> int:
        """Forget cached usage of cycles that ended before `ended_before`; a late record
        for one loads it again from the records. Returns how many were let go."""
        with self.lock:
            old = [key for key, usage in self._cycles.items() if usage.cycle.end < ended_before]
            for key in old:
                del self._cycles[key]
        if old:
            log.info("let go of the cached usage of %d finished cycle(s)", len(old))
        return len(old)

    def recipient(self, line: Line) -> Recipient:
        """The language and e-mail of the line's user (English when it has none)."""
        login = line.user_login
        if login is None:
            return Recipient("en", None)
        keep = not self.shared or self.lock_held()
        found = self._recipients.get(login) if keep else None
        if found is None:
            user = self.store.get_user(login)
            found = Recipient(user.language, user.email) if user else Recipient("en", None)
            if keep:
                self._recipients[login] = found
        return found

    def alert_settings(self, line: Line) -> AlertSettings:
        if self.shared and not self.lock_held():
            return self.store.get_alerts(line.id) or default_settings(
                self.catalog.plans[line.plan_id], self.recipient(line).email)
        settings = self._alerts.get(line.id)
        if settings is not None:
            return settings
        with self.lock:
            return self._load_alerts(line)

    def _load_alerts(self, line: Line) -> AlertSettings:
        settings = self._alerts.get(line.id)
        if settings is None:
            settings = self.store.get_alerts(line.id) or self._default_alerts(line)
            self._alerts[line.id] = settings
        return settings

    def _default_alerts(self, line: Line) -> AlertSettings:
        """The plan's defaults, one shared object per (plan, e-mail): lines are many."""
        key = (line.plan_id, self.recipient(line).email)
        settings = self._defaults.get(key)
        if settings is None:
            settings = default_settings(self.catalog.plans[line.plan_id], key[1])
            self._defaults[key] = settings
        return settings

    def plan_of(self, line: Line, at: datetime) -> Plan:
        return self.catalog.plans[line.plan_at(at)]

    def usage_summary(self, line: Line, at: datetime | None = None) -> UsageSummary:
        now = self.clock()
        when = now if at is None else at
        return summarize(line.id, self.plan_of(line, when), self.cycle_usage(line, when), now)

    # -- provisioning commands ------------------------------------------------

    def put_account(self, account_id: str, *, name: str, kind: str) -> Put[Account]:
        if not ACCOUNT_ID.match(account_id):
            raise InvalidInput(("path", "account_id"),
                               "letters, digits, '.', '_' and '-', at most 64")
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput(("body", "name"), "must be 1 to 200 characters")
        if kind not in ("business", "residential"):
            raise InvalidInput(("body", "kind"), "must be 'business' or 'residential'")
        account = Account(account_id, name, kind)
        with self.command() as tx:
            created = self.store.get_account(account_id) is None
            tx.put_account(account, self.clock())
        log.info("account %s %s (%s)", account_id, "created" if created else "updated", kind)
        return Put(account, created)

    def put_user(
        self, account_id: str, login: str, *, password: str | None, role: str,
        email: str | None, language: str | None,
    ) -> Put[User]:
        if not LOGIN.match(login):
            raise InvalidInput(("path", "login"),
                               "lower-case letters, digits and . _ @ + -, at most 64")
        if role not in ("admin", "user"):
            raise InvalidInput(("body", "role"), "must be 'admin' or 'user'")
        if email is not None and (len(email) > 254 or not EMAIL.match(email)):
            raise InvalidInput(("body", "email"), "is not an e-mail address")
        if language is not None and language not in LANGUAGES:
            raise InvalidInput(("body", "language"), "must be 'en', 'fr' or 'nl'")
        if password is not None and not (
            MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        ):
            raise InvalidInput(("body", "password"),
                               f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
        # Hash outside the lock: scrypt is slow on purpose.
        new_hash = None if password is None else hash_password(password)
        with self.command() as tx:
            if self.store.get_account(account_id) is None:
                raise InvalidInput(("path", "account_id"), f"unknown account {account_id!r}")
            existing = self.store.get_user(login)
            if existing is not None and existing.account_id != account_id:
                raise Conflict(f"login {login!r} is taken")
            if existing is None and new_hash is None:
                raise InvalidInput(("body", "password"), "is required for a new user")
            user = User(
                login=login, account_id=account_id,
                password_hash=new_hash or (existing.password_hash if existing else ""),
                role=role, email=email,
                language=language or (existing.language if existing else "en"),
            )
            tx.put_user(user, self.clock())
            self._recipients.pop(login, None)
            # Defaults may name the user's e-mail; chosen settings are kept.
            self._alerts = {k: v for k, v in self._alerts.items() if v.customised}
        log.info("user %s of account %s %s as %s", login, account_id,
                 "created" if existing is None else "updated", role)
        return Put(user, existing is None)

    def put_line(
        self, line_id: str, *, account_id: str, plan_id: str, user_login: str | None,
        cycle_day: int | None, keep_user: bool = False,
    ) -> Put[Line]:
        plan = self.catalog.plans.get(plan_id)
        if plan is None:
            known = ", ".join(sorted(self.catalog.plans))
            raise InvalidInput(("body", "plan"), f"unknown plan {plan_id!r} (known: {known})")
        if plan.kind is PlanKind.INTERNET:
            if not (INTERNET_LINE_ID.match(line_id) or E164.match(line_id)):
                raise InvalidInput(("path", "line_id"),
                                   "an internet line id is letters, digits and . _ : -")
        elif not E164.match(line_id):
            raise InvalidInput(("path", "line_id"),
                               "a mobile line id is an E.164 number such as +32470000001")
        if cycle_day is not None and not MIN_CYCLE_DAY <= cycle_day <= MAX_CYCLE_DAY:
            raise InvalidInput(("body", "cycle_day"),
                               f"must be {MIN_CYCLE_DAY} to {MAX_CYCLE_DAY}")
        with self.command([line_id]) as tx:
            now = self.clock()
            if self.store.get_account(account_id) is None:
                raise InvalidInput(("body", "account_id"), f"unknown account {account_id!r}")
            if user_login is not None:
                user = self.store.get_user(user_login)
                if user is None or user.account_id != account_id:
                    raise InvalidInput(("body", "user"),
                                       f"no user {user_login!r} in account {account_id!r}")
            existing = self.load_line_locked(line_id)
            if keep_user and existing is not None:
                user_login = existing.user_login
            if existing is None:
                line = Line(line_id, account_id, user_login, cycle_day or MIN_CYCLE_DAY,
                            (PlanPeriod(now, plan_id),))
            else:
                line = self._changed_line(existing, account_id=account_id, plan=plan,
                                          user_login=user_login, cycle_day=cycle_day, now=now)
            kind_changed = existing is not None and (
                self.catalog.plans[existing.plan_id].kind is not plan.kind)
            tx.put_line(line, now)
            if kind_changed:
                # Rules chosen for another kind of plan may not apply any more.
                tx.put_alerts(line_id, None, None, now)
            self._lines[line_id] = line
            # Defaults depend on the plan and the user's e-mail: recompute them.
            self._alerts.pop(line_id, None)
        if existing is None:
            log.info("line %s created on plan %s in account %s", line_id, plan_id, account_id)
        elif existing.plan_id != line.plan_id:
            log.info("line %s changed plan %s -> %s", line_id, existing.plan_id, line.plan_id)
        return Put(line, existing is None)

    def _changed_line(
        self, existing: Line, *, account_id: str, plan: Plan, user_login: str | None,
        cycle_day: int | None, now: datetime,
    ) -> Line:
        if existing.account_id != account_id:
            raise Conflict(f"line {existing.id} belongs to another account")
        old_plan = self.catalog.plans.get(existing.plan_id)
        if old_plan is not None and (
            (old_plan.kind is PlanKind.INTERNET) != (plan.kind is PlanKind.INTERNET)
        ):
            raise Conflict("a mobile line cannot become an internet line, nor the reverse")
        if (cycle_day is not None and cycle_day != existing.cycle_day
                and self.store.line_has_usage(existing.id)):
            raise Conflict("the cycle day of a line with usage cannot change")
        plans = existing.plans
        if plan.id != existing.plan_id:
            plans = (*plans, PlanPeriod(max(now, plans[-1].effective_from), plan.id))
        # Changing the plan removes the spending limit: it must be set again.
        limit = existing.spending_limit_micros if plan.id == existing.plan_id else None
        return replace(existing, user_login=user_login,
                       cycle_day=cycle_day or existing.cycle_day, plans=plans,
                       spending_limit_micros=limit)

    # -- usage ----------------------------------------------------------------

    def apply_usage(
        self, raw_records: Sequence[Any],
        also: Callable[[StoreTransaction], None] | None = None,
    ) -> BatchResult:
        """Validate, rate and commit a batch; answer only after the commit.

        Records, cycle usage, rejected records and the notifications they cause
        are written in one transaction; `also` adds writes of the same command
        (a stream worker's offset).
        """
        _check_batch_size(raw_records)
        batch = Batch(self.clock(), BatchResult())
        parsed = self._parse_batch(raw_records, batch.now, batch.result)
        with self.lock:
            with self.command(record.line for _, record in parsed) as tx:
                fresh = self._drop_duplicates(parsed, batch.result)
                cycles = self.prefetch([(record.line, record.at) for _, record in fresh])
                for (index, record), cycle in zip(fresh, cycles, strict=True):
                    self.rate_into(index, record, batch, cycle)
                self.write(tx, batch, raw_records)
                if also is not None:
                    also(tx)
            self.publish_cycles(batch)

        result = batch.result
        result.rejected.sort(key=lambda r: r.index)
        log.debug("usage batch: %d accepted, %d duplicates, %d rejected, %d messages",
                  result.accepted, result.duplicates, len(result.rejected), len(batch.messages))
        self.publish(batch)
        return result

    def write(self, tx: StoreTransaction, batch: Batch, raw_records: Sequence[Any] = ()) -> None:
        """Write what a batch changed into the command's transaction."""
        if batch.rows:
            tx.insert_records(batch.rows, batch.now)
        if batch.fired_changed:
            tx.save_cycles([(key[0], batch.working[key]) for key in batch.fired_changed],
                           batch.now)
        if batch.result.rejected:
            tx.insert_rejected(_kept(raw_records, batch.result.rejected), batch.now)
        if batch.messages:
            tx.insert_messages(batch.messages)
        batch.result.accepted = len(batch.rows)

    def publish_cycles(self, batch: Batch) -> None:
        """After the commit, under the lock: the batch's cycle usage is the cached one."""
        self._cycles.update(batch.working)

    def cache_cycle(self, line_id: str, usage: CycleUsage) -> None:
        """Publish a committed cycle usage (callers hold the lock)."""
        self._cycles[(line_id, usage.cycle.start_date)] = usage

    def cache_line(self, line: Line) -> None:
        """Publish a committed line (callers hold the lock)."""
        self._lines[line.id] = line

    def publish(self, batch: Batch) -> None:
        """After the commit: wake the dispatcher for new messages, count the batch."""
        if batch.messages:
            log.info("queued %d notification(s) for %s", len(batch.messages),
                     ", ".join(sorted({m.line_id or "-" for m in batch.messages})))
            if self.on_messages is not None:
                self.on_messages()
        if self._on_batch is not None:
            self._on_batch(batch.result)

    def put_alerts(self, line: Line, body: dict[str, Any], by: str | None) -> AlertSettings:
        """Choose a line's notification rules and channels (validated against its plan)."""
        try:
            settings = parse_settings(body, self.catalog.plans[line.plan_id])
        except AlertError as exc:
            raise InvalidInput(exc.loc, exc.msg) from None
        with self.command([line.id]) as tx:
            tx.put_alerts(line.id, settings, by, self.clock())
            self._alerts[line.id] = settings
        log.info("alerts of line %s set by %s: %s", line.id, by,
                 ", ".join(f"{r.kind.value} {r.value}" for r in settings.rules) or "none")
        return settings

    def queue_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """Put messages that are not caused by usage (replies) in the outbox."""
        if not messages:
            return
        with self.command() as tx:
            tx.insert_messages(messages)
        if self.on_messages is not None:
            self.on_messages()

    def screen(self, raw_records: Sequence[Any]) -> tuple[BatchResult, list[tuple[str, Any]]]:
        """What a stream intake does instead of `apply_usage`: validate a batch, drop what
        is known to be counted already, reject records of unknown lines (kept, like every
        rejected record), and return the records to hand to the stream. Exactly-once is
        the worker's: it drops duplicates again when it applies them. Returns the
        accepted records as (line, record as received)."""
        _check_batch_size(raw_records)
        now = self.clock()
        result = BatchResult()
        parsed = self._parse_batch(raw_records, now, result)
        fresh = self._drop_duplicates(parsed, result)
        known = self.store.existing_line_ids(list({r.line for _, r in fresh}))
        accepted: list[tuple[str, Any]] = []
        for index, record in fresh:
            if record.line in known:
                accepted.append((record.line, raw_records[index]))
            else:
                result.rejected.append(_unknown_line(index, record))
        if result.rejected:
            with self.command() as tx:
                tx.insert_rejected(_kept(raw_records, result.rejected), now)
            result.rejected.sort(key=lambda r: r.index)
        result.accepted = len(accepted)
        return result, accepted

    def _parse_batch(
        self, raw_records: Sequence[Any], now: datetime, result: BatchResult
    ) -> list[tuple[int, UsageRecord]]:
        parsed: list[tuple[int, UsageRecord]] = []
        home = self.catalog.home_country
        for index, obj in enumerate(raw_records):
            try:
                parsed.append((index, parse_record(obj, home_country=home, now=now,
                                                   max_future=self.max_future)))
            except RecordError as exc:
                result.rejected.append(Rejection(index, _record_id(obj), str(exc)))
        return parsed

    def prefetch(self, uses: Sequence[tuple[str, datetime]]) -> list[Cycle | None]:
        """Load lines, their cycle usage at these times and their alert settings in a few
        queries, not a few per line. Callers hold the lock; only what is missing from the
        caches is read. Returns each use's cycle (None: no such line), for `rate_into`."""
        missing = list({line_id for line_id, _ in uses if line_id not in self._lines})
        if missing:
            self._lines.update(self.store.get_lines(missing))
        cycles: dict[tuple[str, date], Cycle] = {}
        touched: dict[str, Line] = {}
        found: list[Cycle | None] = []
        for line_id, at in uses:
            line = self._lines.get(line_id)
            if line is None:
                found.append(None)
                continue
            touched[line.id] = line
            cycle = cycle_of(at, line.cycle_day)
            found.append(cycle)
            key = (line.id, cycle.start_date)
            if key not in self._cycles:
                cycles[key] = cycle
        if cycles:
            loaded = self.store.load_cycles(list(cycles))
            for key, cycle in cycles.items():
                self._cycles[key] = loaded.get(key) or CycleUsage(cycle)
        unset = [line_id for line_id in touched if line_id not in self._alerts]
        if unset:
            chosen = self.store.get_alerts_many(unset)
            for line_id in unset:
                self._alerts[line_id] = chosen.get(line_id) or self._default_alerts(
                    touched[line_id])
        return found

    def _drop_duplicates(
        self, parsed: list[tuple[int, UsageRecord]], result: BatchResult
    ) -> list[tuple[int, UsageRecord]]:
        """Records seen before, in this batch or committed earlier, count once."""
        fresh: list[tuple[int, UsageRecord]] = []
        seen: set[str] = set()
        for index, record in parsed:
            if record.id in seen:
                result.duplicates += 1
            else:
                seen.add(record.id)
                fresh.append((index, record))
        known = self.store.existing_record_ids([r.id for _, r in fresh])
        if known:
            result.duplicates += sum(1 for _, r in fresh if r.id in known)
            fresh = [(i, r) for i, r in fresh if r.id not in known]
        return fresh

    def rate_into(self, index: int, record: UsageRecord, batch: Batch,
                  cycle: Cycle | None = None) -> Rating | None:
        """Rate one record into the batch; None when it is rejected. `cycle`: the
        record's, when the caller knows it already (from `prefetch`)."""
        result = batch.result
        line = self.load_line_locked(record.line)
        if line is None:
            result.rejected.append(_unknown_line(index, record))
            return None
        if cycle is None:
            cycle = cycle_of(record.at, line.cycle_day)
        key = (line.id, cycle.start_date)
        usage = batch.working.get(key)
        if usage is None:
            usage = self._load_cycle(line.id, cycle).copy()
            batch.working[key] = usage
        plan = self.plan_of(line, record.at)
        try:
            rating = rate(record, plan, self.catalog, usage)
        except RecordError as exc:
            result.rejected.append(Rejection(index, record.id, str(exc)))
            return None
        usage.add(rating)
        batch.rows.append(StoredRecord(
            id=record.id, line_id=line.id, cycle_start=cycle.start_date,
            service=record.service.value, direction=record.direction.value,
            quantity=record.quantity, amount_micros=record.amount_micros,
            country=record.country, at=record.at, charge_micros=rating.charge_micros,
            meter=rating.meter,
        ))
        settings = self._load_alerts(line)
        limit = line.spending_limit_micros
        if (settings.rules or limit) and watch(settings.rules, plan, usage.fired, limit).reached(
                usage.meters, usage.spend_micros):
            fired = set(usage.fired)
            due = crossings(settings.rules, plan, usage.meters, usage.spend_micros,
                            fired=fired, limit_micros=limit)
            if len(fired) != len(usage.fired):
                usage.fired = frozenset(fired)
                batch.fired_changed.add(key)
            if due:
                summary = summarize(line.id, plan, usage, batch.now)
                recipient = self.recipient(line)
                for crossing in due:
                    batch.messages.extend(notification_messages(
                        crossing, summary, settings, recipient, batch.now,
                        email_sender=self.email_sender, limit_micros=limit))
        return rating


def _check_batch_size(raw_records: Sequence[Any]) -> None:
    if len(raw_records) > MAX_BATCH:
        raise InvalidInput(("body",), f"at most {MAX_BATCH} records a call")


def _unknown_line(index: int, record: UsageRecord) -> Rejection:
    return Rejection(index, record.id, f"line: unknown line {record.line!r}")


def _kept(raw_records: Sequence[Any], rejected: Sequence[Rejection]) -> list[RejectedRecord]:
    """Rejected records as received, so that the operator can correct and re-send them."""
    kept = []
    for rejection in rejected:
        try:
            payload = orjson.dumps(raw_records[rejection.index]).decode()
        except TypeError:
            payload = repr(raw_records[rejection.index])
        kept.append(RejectedRecord(rejection.id, payload, rejection.error))
    return kept


def _record_id(obj: Any) -> str | None:
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, str):
            return value
    return None
