"""Demo routines for the ``etl_orders`` flow: generate, validate, convert and sum orders.

The flow (``flows/etl_orders.yaml``)::

    reader.record   -> validator.input
    validator.valid -> transformer.input
    transformer.output -> aggregator.input     (converted orders)
    validator.invalid  -> aggregator.rejected  (rejection notices, no record)
    reader.manifest    -> aggregator.manifest  (how many orders to expect)

Start a job at ``reader.input``. Every parameter is optional:

- ``records`` (int, default 20, at most 10000): orders to generate.
- ``invalid_ids`` (list of int, default []): order ids to corrupt, so the
  validator traces, counts and drops them.
- ``raise_at`` (int or null, default null): order id on which the
  transformer raises ``RuntimeError``, which fails the job.
- ``slow_ms`` (number, default 0, at most 10000): milliseconds the
  transformer sleeps per order.
- ``seed`` (int, default 1): the same seed gives the same orders.

Parameters of the wrong type or out of range make the reader raise
``ValueError``. When every order is accounted for, the aggregator stores
``summary`` in the job data (totals per customer in EUR, counts, rejected
ids) and emits it. The job data also contains ``params`` and ``invalid_count``.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

from routilux.core.context import get_current_execution_context, get_current_job
from routilux.core.routine import Routine
from routilux.tools.factory.factory import ObjectFactory

MAX_RECORDS = 10_000
MAX_SLOW_MS = 10_000

# Demo exchange rates: EUR per unit of each currency.
EUR_PER_UNIT = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05, "JPY": 0.0061}

CUSTOMERS = (
    "Acme GmbH",
    "Globex Corporation",
    "Initech Ltd",
    "Umbrella plc",
    "Stark Industries",
    "Wayne Enterprises",
)

# (sku, name, price in EUR)
PRODUCTS = (
    ("SKU-1001", "USB-C cable", 9.90),
    ("SKU-1002", "Wireless mouse", 24.50),
    ("SKU-1003", "Mechanical keyboard", 89.00),
    ("SKU-1004", "27-inch monitor", 249.00),
    ("SKU-1005", "Laptop stand", 39.90),
    ("SKU-1006", "Noise-cancelling headset", 179.00),
)

FIRST_ORDER_AT = datetime(2025, 1, 6, 8, 0)


def take_all_slots(slots: dict[str, Any], worker_state: Any) -> tuple[bool, dict, str]:
    """Activate when any slot has new data, taking everything waiting."""
    data = {name: slot.consume_all_new() for name, slot in slots.items()}
    if any(data.values()):
        return True, data, "new_data"
    return False, {}, "no_new_data"


def routine_id(routine: Routine) -> str:
    """Return the routine's id in the flow, for trace entries."""
    context = get_current_execution_context()
    return context.routine_id if context and context.routine_id else routine._id


def read_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check the job parameters and fill in defaults.

    Raises:
        ValueError: naming the parameter and the expected value.
    """
    if not isinstance(params, dict):
        raise ValueError(
            f"job parameters must be an object, got {type(params).__name__}"
        )
    options = {
        "records": params.get("records", 20),
        "invalid_ids": params.get("invalid_ids") or [],
        "raise_at": params.get("raise_at"),
        "slow_ms": params.get("slow_ms") or 0,
        "seed": params.get("seed", 1),
    }
    if not _is_int(options["records"]) or not 0 <= options["records"] <= MAX_RECORDS:
        raise ValueError(
            f"records must be an integer from 0 to {MAX_RECORDS}, got {options['records']!r}"
        )
    if not isinstance(options["invalid_ids"], list) or not all(
        map(_is_int, options["invalid_ids"])
    ):
        raise ValueError(
            f"invalid_ids must be a list of integers, got {options['invalid_ids']!r}"
        )
    if options["raise_at"] is not None and not _is_int(options["raise_at"]):
        raise ValueError(
            f"raise_at must be an integer or null, got {options['raise_at']!r}"
        )
    slow_ms = options["slow_ms"]
    if (
        isinstance(slow_ms, bool)
        or not isinstance(slow_ms, int | float)
        or not 0 <= slow_ms <= MAX_SLOW_MS
    ):
        raise ValueError(
            f"slow_ms must be a number from 0 to {MAX_SLOW_MS}, got {slow_ms!r}"
        )
    if not _is_int(options["seed"]):
        raise ValueError(f"seed must be an integer, got {options['seed']!r}")
    return options


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def make_orders(count: int, seed: int, invalid_ids: list[int]) -> list[dict[str, Any]]:
    """Generate ``count`` orders with ids 1..count; corrupt those in ``invalid_ids``."""
    rng = random.Random(seed)
    orders = []
    for order_id in range(1, count + 1):
        currency = rng.choice(list(EUR_PER_UNIT))
        items = [_order_line(rng, currency) for _ in range(rng.randint(1, 4))]
        order = {
            "id": order_id,
            "customer": rng.choice(CUSTOMERS),
            "currency": currency,
            "items": items,
            "amount": round(sum(line["qty"] * line["unit_price"] for line in items), 2),
            "created_at": (
                FIRST_ORDER_AT + timedelta(minutes=37 * order_id)
            ).isoformat(),
        }
        if order_id in invalid_ids:
            _corrupt(order)
        orders.append(order)
    return orders


def _order_line(rng: random.Random, currency: str) -> dict[str, Any]:
    sku, name, eur_price = rng.choice(PRODUCTS)
    digits = 0 if currency == "JPY" else 2
    return {
        "sku": sku,
        "name": name,
        "qty": rng.randint(1, 5),
        "unit_price": round(eur_price / EUR_PER_UNIT[currency], digits),
    }


def _corrupt(order: dict[str, Any]) -> None:
    """Break the order in one of four ways, picked by its id."""
    kind = order["id"] % 4
    if kind == 0:
        order["customer"] = ""
    elif kind == 1:
        order["currency"] = "XYZ"
    elif kind == 2:
        order["items"][0]["qty"] = -order["items"][0]["qty"]
    else:
        order["amount"] = round(order["amount"] + 10, 2)


def order_errors(order: Any) -> list[str]:
    """Return what is wrong with an order; an empty list means it is valid."""
    if not isinstance(order, dict):
        return [f"expected an order object, got {type(order).__name__}"]
    errors = []
    if not isinstance(order.get("customer"), str) or not order["customer"].strip():
        errors.append("customer is missing")
    if order.get("currency") not in EUR_PER_UNIT:
        errors.append(
            f"currency {order.get('currency')!r} is not one of {', '.join(EUR_PER_UNIT)}"
        )

    items = order.get("items")
    if not isinstance(items, list) or not items:
        return errors + ["items must be a non-empty list"]
    for index, line in enumerate(items):
        if not _is_int(line.get("qty")) or line["qty"] <= 0:
            errors.append(
                f"items[{index}].qty must be a positive integer, got {line.get('qty')!r}"
            )
    if not errors:
        expected = round(sum(line["qty"] * line["unit_price"] for line in items), 2)
        if abs(expected - order.get("amount", 0)) > 0.01:
            errors.append(
                f"amount {order.get('amount')!r} does not match the items' total {expected}"
            )
    return errors


class OrderReader(Routine):
    """Entry routine: checks the job parameters and emits the generated orders."""

    def setup(self) -> None:
        self.add_slot("input")
        self.add_event("manifest", ["expected"])
        self.add_event("record", ["record"])
        self.set_activation_policy(take_all_slots)

    def logic(self, params_list: list[dict], **kwargs: Any) -> None:
        job = get_current_job()
        for params in params_list:
            options = read_params(params)
            job.set_data("params", options)
            orders = make_orders(
                options["records"], options["seed"], options["invalid_ids"]
            )

            job.trace(
                routine_id(self),
                "orders_generated",
                {"records": len(orders), "seed": options["seed"]},
            )
            print(f"reader: generated {len(orders)} orders with seed {options['seed']}")
            self.emit("manifest", expected=len(orders))
            for order in orders:
                self.emit("record", record=order)


class OrderValidator(Routine):
    """Forwards valid orders; traces, counts and reports invalid ones without the record."""

    def setup(self) -> None:
        self.add_slot("input")
        self.add_event("valid", ["record"])
        self.add_event("invalid", ["record_id", "errors"])
        self.set_activation_policy(take_all_slots)
        self._invalid_count = 0

    def logic(self, items: list[dict], **kwargs: Any) -> None:
        job = get_current_job()
        for item in items:
            order = item.get("record")
            errors = order_errors(order)
            if not errors:
                self.emit("valid", record=order)
                continue

            order_id = order.get("id") if isinstance(order, dict) else None
            self._invalid_count += 1
            job.set_data("invalid_count", self._invalid_count)
            job.trace(
                routine_id(self), "invalid_record", {"id": order_id, "errors": errors}
            )
            print(f"validator: order {order_id} rejected: {'; '.join(errors)}")
            self.emit("invalid", record_id=order_id, errors=errors)


class OrderTransformer(Routine):
    """Converts each order to the base currency and adds derived fields.

    Config:
        base_currency: currency of ``amount_base`` (default EUR).
    """

    def setup(self) -> None:
        self.add_slot("input")
        self.add_event("output", ["order"])
        self.set_activation_policy(take_all_slots)
        self.set_config(base_currency="EUR")

    def logic(self, items: list[dict], **kwargs: Any) -> None:
        job = get_current_job()
        params = job.get_data("params") or {}
        for item in items:
            order = item["record"]
            if params.get("slow_ms"):
                time.sleep(params["slow_ms"] / 1000)
            if params.get("raise_at") is not None and order["id"] == params["raise_at"]:
                raise RuntimeError(
                    f"cannot convert order {order['id']}: raise_at={params['raise_at']} was requested"
                )

            converted = self.convert(order)
            job.trace(
                routine_id(self),
                "order_converted",
                {"id": order["id"], "amount_base": converted["amount_base"]},
            )
            self.emit("output", order=converted)

    def convert(self, order: dict[str, Any]) -> dict[str, Any]:
        """Return the order with its amount in the base currency and derived fields."""
        base = self.get_config("base_currency", "EUR")
        amount_base = round(
            order["amount"] * EUR_PER_UNIT[order["currency"]] / EUR_PER_UNIT[base], 2
        )
        item_count = sum(line["qty"] for line in order["items"])
        return {
            **order,
            "base_currency": base,
            "amount_base": amount_base,
            "item_count": item_count,
            "average_item_price": round(amount_base / item_count, 2),
            "size": "small"
            if amount_base < 100
            else "medium"
            if amount_base < 500
            else "large",
            "order_date": order["created_at"][:10],
        }


class OrderAggregator(Routine):
    """Fan-in: sums converted orders per customer and emits the summary once all are in."""

    def setup(self) -> None:
        self.add_slot("manifest")
        self.add_slot("input")
        self.add_slot("rejected")
        self.add_event("summary", ["summary"])
        self.set_activation_policy(take_all_slots)
        self._expected: int | None = None
        self._orders: list[dict[str, Any]] = []
        self._rejected_ids: list[Any] = []
        self._done = False

    def logic(
        self,
        manifests: list[dict],
        orders: list[dict],
        rejections: list[dict],
        **kwargs: Any,
    ) -> None:
        for manifest in manifests:
            self._expected = manifest["expected"]
        self._orders.extend(item["order"] for item in orders)
        self._rejected_ids.extend(item["record_id"] for item in rejections)

        accounted = len(self._orders) + len(self._rejected_ids)
        if self._done or self._expected is None or accounted < self._expected:
            return
        self._done = True
        summary = self.summarize()
        job = get_current_job()
        job.set_data("summary", summary)
        job.trace(
            routine_id(self),
            "summary_stored",
            {"orders": summary["valid_orders"], "rejected": summary["rejected_orders"]},
        )
        print(
            f"aggregator: {summary['valid_orders']} orders from {len(summary['customers'])} customers, "
            f"{summary['grand_total']} {summary['base_currency']}; {summary['rejected_orders']} rejected"
        )
        self.emit("summary", summary=summary)

    def summarize(self) -> dict[str, Any]:
        """Return totals per customer and overall from the orders received so far."""
        customers: dict[str, dict[str, Any]] = {}
        for order in self._orders:
            totals = customers.setdefault(
                order["customer"], {"orders": 0, "total": 0.0, "items": 0}
            )
            totals["orders"] += 1
            totals["total"] = round(totals["total"] + order["amount_base"], 2)
            totals["items"] += order["item_count"]
        return {
            "base_currency": self._orders[0]["base_currency"]
            if self._orders
            else "EUR",
            "customers": dict(sorted(customers.items())),
            "grand_total": round(
                sum(order["amount_base"] for order in self._orders), 2
            ),
            "valid_orders": len(self._orders),
            "rejected_orders": len(self._rejected_ids),
            "rejected_ids": sorted(self._rejected_ids, key=_id_order),
        }


def _id_order(order_id: Any) -> tuple[int, int, str]:
    """Sort integer ids numerically, then any other id (such as None) by text."""
    if _is_int(order_id):
        return 0, order_id, ""
    return 1, 0, str(order_id)


def register(factory: ObjectFactory) -> None:
    """Register this module's routines under ``demo_`` names, skipping names already taken."""
    for name, routine_class in (
        ("demo_order_reader", OrderReader),
        ("demo_order_validator", OrderValidator),
        ("demo_order_transformer", OrderTransformer),
        ("demo_order_aggregator", OrderAggregator),
    ):
        if factory.get_metadata(name) is None:
            factory.register(
                name, routine_class, description=routine_class.__doc__.splitlines()[0]
            )


register(ObjectFactory.get_instance())
