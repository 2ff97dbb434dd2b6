"""seed-demo (idempotent, realistic, refused in production) and create-user."""
from sqlalchemy import func, select

from backoffice.demo import seed
from models import AppraisalRecord, Customer, Outlet, Part, ProductModel, Ticket, Unit, User, db
from tests.conftest import make_app


def test_demo_data_is_rich_enough(session):
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(Outlet) >= 3 and count(Customer) >= 60 and count(Unit) >= 60
    assert count(Ticket) >= 200 and count(Part) > 0 and count(AppraisalRecord) > 0
    statuses = set(session.scalars(select(Ticket.status).distinct()))
    assert len(statuses) == 9  # every status of R-TKT-4
    categories = set(session.scalars(select(ProductModel.category)))
    assert {"gas_water_heater", "range_hood", "disinfection_cabinet", "gas_stove"} <= categories
    assert session.scalar(select(Outlet).where(Outlet.parent_id.is_not(None))) is not None


def test_dealers_belong_to_different_outlets_each_with_own_data(session):
    dealers = {u.username: u for u in session.scalars(select(User).where(User.role == "dealer"))}
    assert dealers["dealer1"].outlet_id != dealers["dealer2"].outlet_id
    for dealer in dealers.values():
        assert session.scalar(select(func.count()).select_from(Ticket)
                              .where(Ticket.outlet_id == dealer.outlet_id)) > 0
        assert session.scalar(select(func.count()).select_from(Customer)
                              .where(Customer.outlet_id == dealer.outlet_id)) > 0


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "already present" in result.output
    assert "dealer1" in result.output  # the logins are printed every time
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "admin")) == 1


def test_seed_demo_is_refused_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_ALLOW_SQLITE", "1")
    app = make_app(f"sqlite:///{tmp_path}/p.db", BACKOFFICE_ENV="production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "production" in result.output


def test_create_user_prompts_for_the_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--username", "wangfang", "--role", "clerk",
                                 "--full-name", "王芳"], input="s3cure-pass\ns3cure-pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cure-pass" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "wangfang"))
        assert user.role == "clerk" and user.password_hash != "s3cure-pass"


def test_create_user_for_a_dealer_needs_a_known_outlet(app):
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--username", "d9", "--role", "dealer", "--full-name", "x",
        "--outlet-code", "NOPE"], input="long-pass-1\nlong-pass-1\n")
    assert result.exit_code != 0 and "NOPE" in result.output


def test_seed_function_reports_when_it_did_nothing(app):
    with app.app_context():
        assert seed(db.session) is False
