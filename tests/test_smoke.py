import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_admin_login_page_renders_with_branding(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert "Backorder Desk" in response.content.decode()


@pytest.mark.django_db
def test_system_checks_pass():
    call_command("check", fail_level="WARNING")
