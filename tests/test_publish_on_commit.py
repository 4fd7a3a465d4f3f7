"""A task asked for several times in one transaction is published once, after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from config.celery import publish_on_commit
from orders.tasks import product_allocate_task

pytestmark = pytest.mark.django_db


def published(callbacks) -> list[tuple]:
    return [(callback.task.name, callback.args) for callback in callbacks]


def test_the_same_task_and_arguments_are_published_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        publish_on_commit(product_allocate_task, 1)
        publish_on_commit(product_allocate_task, 2)
        publish_on_commit(product_allocate_task, 1)
        with transaction.atomic():
            publish_on_commit(product_allocate_task, 2)

    assert published(callbacks) == [
        (product_allocate_task.name, (1,)),
        (product_allocate_task.name, (2,)),
    ]


def test_a_publish_rolled_back_with_its_savepoint_is_asked_for_again(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                publish_on_commit(product_allocate_task, 1)
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        publish_on_commit(product_allocate_task, 1)

    assert published(callbacks) == [(product_allocate_task.name, (1,))]


def test_a_publish_asked_for_outside_a_savepoint_survives_its_rollback(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        publish_on_commit(product_allocate_task, 1)
        try:
            with transaction.atomic():
                publish_on_commit(product_allocate_task, 1)
                raise RuntimeError("refused")
        except RuntimeError:
            pass

    assert published(callbacks) == [(product_allocate_task.name, (1,))]


def test_list_arguments_are_compared_by_value(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        publish_on_commit(product_allocate_task, [1, 2])
        publish_on_commit(product_allocate_task, [1, 2])
        publish_on_commit(product_allocate_task, [2, 1])

    assert published(callbacks) == [
        (product_allocate_task.name, ([1, 2],)),
        (product_allocate_task.name, ([2, 1],)),
    ]
