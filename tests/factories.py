from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model

from compliance.models import OrderCompliance
from compliance.selectors import ship_by_date
from inventory.models import Product, StockMovement
from inventory.services import product_create
from orders.models import Customer, Order
from orders.services import LineRequest, order_place, product_allocate, stock_receive


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@shop.example")
    is_staff = True
    password = factory.django.Password("staff-password")


class ProductFactory(factory.django.DjangoModelFactory):
    """Creates products through product_create, so each has its stock row and opening receipt."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    unit_price = Decimal("25.00")
    backorder_policy = Product.BackorderPolicy.ALLOW
    lead_time_days = 14

    @classmethod
    def _create(cls, model_class: type[Product], *args: Any, **kwargs: Any) -> Product:
        on_hand = kwargs.pop("on_hand", 0)
        substitutes = kwargs.pop("substitutes", None)
        product = product_create(on_hand=on_hand, **kwargs)
        if substitutes:
            product.substitutes.set(substitutes)
        return product


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")


def place_order(
    *items: tuple[Product, int], customer: Customer | None = None, **kwargs: Any
) -> Order:
    """Place an order through the real service: place_order((phone, 2), (case, 1))."""
    buyer: Customer = customer or CustomerFactory.create()
    return order_place(
        customer_email=buyer.email,
        customer_name=buyer.name,
        lines=[LineRequest(sku=product.sku, quantity=quantity) for product, quantity in items],
        **kwargs,
    )


def receive(product: Product, quantity: int, **kwargs: Any) -> StockMovement:
    """Receive stock, then allocate as the task does once the receipt has committed."""
    movement = stock_receive(product=product, quantity=quantity, **kwargs)
    product_allocate(product_id=product.pk)
    return movement


def rule_deadline_set(order: Order, deadline: dt.date) -> None:
    """Move an order's Mail Order Rule deadline T behind the engine's back, and the ship-by
    date stored on the order with it, as the rule's services keep them in step."""
    OrderCompliance.objects.filter(order=order).update(deadline=deadline)
    compliance = OrderCompliance.objects.get(order=order)
    Order.objects.filter(pk=order.pk).update(ship_by=ship_by_date(compliance))


def staff_in(group: str | None) -> Any:
    """A staff member in the "Operations" or "Managers" group (or in none)."""
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user
